"""The price table the dashboard computes costs with: model name -> price per
1,000 input tokens and per 1,000 output tokens, in one currency.

A key ending in `*` prices every model whose name starts with the rest of it
(`"gpt-4o*"` prices `gpt-4o-2024-08-06`); an exact key wins over a prefix. The
page shows a cost only where a price is known. Prices are configuration, not
monitoring data: the page reads them without the token.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator


class ModelPrice(BaseModel):
    """Price per 1,000 tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, allow_inf_nan=False, description="per 1,000 input tokens")
    output: float = Field(ge=0, allow_inf_nan=False, description="per 1,000 output tokens")


class PriceTable(BaseModel):
    """What `dashboard-config.json` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")

    @field_validator("prices")
    @classmethod
    def _named_models(cls, prices: dict[str, ModelPrice]) -> dict[str, ModelPrice]:
        for name in prices:
            if not name.strip() or name.strip() == "*":
                raise ValueError(f"a model name is required, not {name!r}")
        return prices


_PRICES = TypeAdapter(dict[str, ModelPrice])


def price_table(
    prices: Mapping[str, ModelPrice | Mapping[str, Any]] | None = None, currency: str = "USD"
) -> PriceTable:
    """A validated table (ValueError on a negative, missing or non-finite price)."""
    return PriceTable(prices=_PRICES.validate_python(dict(prices or {})), currency=currency)
