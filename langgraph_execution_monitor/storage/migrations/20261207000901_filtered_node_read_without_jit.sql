-- migrate:up
SET LOCAL search_path = execution_monitor, public;
-- The per-node read for the listing's filters parses the traces of the window's
-- matching runs, so at 10,000,000 runs its cost estimate passes jit_above_cost and
-- JIT compilation doubles it: 733 against 378 ms for a day of failed runs, 1,595
-- against 959 ms for eleven users by prefix (medians of 3, alternated). The other
-- filtered reads measured the same either way. The unfiltered one has had jit off
-- since migration 20261207000400.
ALTER FUNCTION node_performance_filtered(
    integer, timestamptz, timestamptz, text, text, text, text, text) SET jit = off;
SET LOCAL search_path TO DEFAULT;

-- migrate:down
SET LOCAL search_path = execution_monitor, public;
ALTER FUNCTION node_performance_filtered(
    integer, timestamptz, timestamptz, text, text, text, text, text) RESET jit;
SET LOCAL search_path TO DEFAULT;
