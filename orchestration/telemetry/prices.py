"""Model prices: what a token costs, per provider and model, from a JSON file a worker is given.

The file maps ``"provider:model"`` (or ``"provider"`` for every model of it) to prices
in US dollars per million tokens::

    {"openai:gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.60}}

Offline providers (extractive, fake) always cost zero. A model the table does not list
costs nothing in the figures but is counted in ``Usage.unpriced_calls``, so a total is
never silently too low. No real prices are built in: they change, and stale ones lie.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from orchestration.errors import ConfigError
from orchestration.shared.usage import CallCounts, Usage

OFFLINE_PROVIDERS = ("extractive", "fake")


class Price(BaseModel):
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)


class PriceTable(BaseModel):
    """Prices by ``provider:model`` or ``provider``; see the module docstring for the file."""

    prices: dict[str, Price] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> PriceTable:
        """The table in `path`; None gives the empty table (offline providers only).

        Raises:
            ConfigError: the file cannot be read or is not a valid table (one line, names the file).
        """
        if path is None:
            return cls()
        try:
            raw = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
            return cls(prices=raw)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"price table {path} cannot be read ({exc.__class__.__name__}: {exc}); "
                              "fix DURABLE_RESEARCH_PRICE_TABLE or unset it") from None  # fmt: skip
        except json.JSONDecodeError as exc:
            raise ConfigError(f"price table {path} is not JSON ({exc}); see docs/concepts/budgets.md") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"price table {path}: {where}: {first['msg']}; each entry needs "
                '{"input_per_million": N, "output_per_million": N}'
            ) from None

    def price(self, provider: str, model: str | None) -> Price | None:
        """The price of `provider`'s `model`; None when the table does not know it."""
        if provider in OFFLINE_PROVIDERS:
            return Price(input_per_million=0, output_per_million=0)
        if model and f"{provider}:{model}" in self.prices:
            return self.prices[f"{provider}:{model}"]
        return self.prices.get(provider)

    def usage(self, provider: str, model: str | None, counts: CallCounts) -> Usage:
        """A run's Usage with its cost (or its calls counted as unpriced)."""
        price = self.price(provider, model)
        cost = 0.0
        if price is not None:
            cost = (counts.tokens_in * price.input_per_million + counts.tokens_out * price.output_per_million) / 1e6
        return counts.unpriced().model_copy(
            update={"cost_usd": round(cost, 8), "unpriced_calls": 0 if price is not None else counts.calls}
        )
