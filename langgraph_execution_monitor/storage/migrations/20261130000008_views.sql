-- migrate:up
-- Views for people with psql. Each window matches the API's default (24 h)
-- unless its name says otherwise; the functions take other windows.

-- Newest first, without the heavy columns (trace, full response).
CREATE VIEW recent_executions AS
SELECT id,
       conversation_id,
       user_id,
       left(request_message, 120) AS request_excerpt,
       status,
       started_at,
       completed_at,
       total_duration_ms,
       failed_nodes,
       error_summary
FROM execution_logs
ORDER BY started_at DESC, id DESC;

-- One row per hour of the last 7 days.
CREATE VIEW execution_stats_hourly AS
SELECT date_trunc('hour', started_at) AS hour,
       count(*) AS total,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'partial') AS partial,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'running') AS running,
       round(100.0 * count(*) FILTER (WHERE status = 'completed') / count(*), 2) AS success_rate,
       round(avg(total_duration_ms)) AS avg_duration_ms,
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY total_duration_ms)) AS p95_duration_ms
FROM execution_logs
WHERE started_at >= now() - interval '7 days'
GROUP BY 1
ORDER BY 1 DESC;

-- Nodes by the number of runs they failed in, last 24 hours.
CREATE VIEW failed_node_breakdown AS
SELECT node, failed_runs FROM failed_nodes_breakdown(24);

-- Per-node runs, failures and duration percentiles, last 24 hours.
CREATE VIEW node_performance_24h AS
SELECT * FROM node_performance(24);

-- migrate:down
DROP VIEW node_performance_24h;
DROP VIEW failed_node_breakdown;
DROP VIEW execution_stats_hourly;
DROP VIEW recent_executions;
