"""A family's own settings: one small frozen dataclass per family, each field made by ``setting``
with its default, the reason for it, its help text and what it changes. Everything else is
derived from those fields: validation, the command-line flags, the checkpoint checks (a field
that shapes the weights must agree; one that changes the numbers must agree to resume), the run
name (a field enters it only away from its default) and the recorded training command.

    @dataclass(frozen=True)
    class HingeSettings:
        margin: float = setting(1.0, help="the hinge's margin", why="Lim and Ye 2017", minimum=0.0, above=True)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from gencore.engine.errors import GencoreError
from gencore.engine.parse import parse_choice, parse_float, parse_int

__all__ = ["About", "NoSettings", "Setting", "setting", "settings_fields", "make_settings", "flag_name"]


@dataclass(frozen=True)
class About:
    """What the kit knows about one of a family's settings, beside its default."""

    help: str  # the command line's help text
    why: str  # the reason for the default (docs, --help)
    shapes_weights: bool = False  # True: it fixes the saved weights' shapes; False: only the training numbers
    choices: tuple[str, ...] | None = None  # for text settings: the values allowed
    minimum: float | None = None  # for numbers: the smallest allowed (None: any)
    maximum: float | None = None  # for numbers: the largest allowed (None: any)
    above: bool = False  # the value must be greater than ``minimum``, not equal to it
    # In every run's name, even at its default: the WGAN-GP's n_critic and gp_weight were in the names
    # of all runs (of every family) before families owned their settings, so keeping them keeps the names.
    always_named: bool = False


def setting(default: Any, *, help: str, why: str, **about: Any) -> Any:  # noqa: A002 - argparse's word
    """A field of a family's settings dataclass: its default and what the kit derives from it."""
    return field(default=default, metadata={"about": About(help=help, why=why, **about)})


@dataclass(frozen=True)
class Setting:
    """One field of a family's settings, as the kit reads it."""

    name: str
    default: Any
    about: About

    @property
    def flag(self) -> str:
        return flag_name(self.name)

    def parse(self, value: Any) -> Any:
        """The value as the setting's type, or one clear error naming the setting."""
        about, default = self.about, self.default
        if isinstance(default, str):
            return parse_choice(self.name, value, about.choices) if about.choices else str(value)
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            raise GencoreError(f"{self.name} must be True or False, got {value!r}.")
        if isinstance(default, int):
            low = int(about.minimum) + (1 if about.above else 0) if about.minimum is not None else -(2**63)
            high = int(about.maximum) if about.maximum is not None else None
            return parse_int(self.name, value, low, high)
        if isinstance(default, float):
            minimum = about.minimum if about.minimum is not None else -float("inf")
            return parse_float(self.name, value, minimum, about.above, about.maximum)
        raise GencoreError(f"{self.name}: settings are numbers, text or True/False, not {type(default).__name__}.")

    def text(self, value: Any) -> str:
        """The value as a run's label and a command line write it: 'layer', '5', '0.0002'."""
        return value if isinstance(value, str) else format(value, "g")


@dataclass(frozen=True)
class NoSettings:
    """A family with no settings of its own."""


def settings_fields(settings_type: type) -> tuple[Setting, ...]:
    """The settings a family's dataclass declares, in their order."""
    found = []
    for item in dataclasses.fields(settings_type):
        about = item.metadata.get("about")
        if not isinstance(about, About):
            raise GencoreError(f"{settings_type.__name__}.{item.name} is not made by setting(...): give it a help text and a reason.")
        found.append(Setting(item.name, item.default, about))
    return tuple(found)


def make_settings(settings_type: type, values: Mapping[str, Any], base: Any = None, owner: str = "") -> Any:
    """An instance of the family's settings dataclass: ``base``'s values (else the defaults), with
    ``values`` parsed over them. A name the family does not have gets one clear error."""
    fields = {s.name: s for s in settings_fields(settings_type)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise GencoreError(f"the {owner or settings_type.__name__} has no setting {', '.join(unknown)}"
                           + (f": its own are {', '.join(fields)}." if fields else "."))
    start = {name: getattr(base, name) for name in fields} if isinstance(base, settings_type) else {}
    parsed = {name: fields[name].parse(value) for name, value in {**start, **values}.items()}
    return settings_type(**parsed)


def flag_name(name: str) -> str:
    """The command-line flag of a setting: n_critic -> --n-critic."""
    return "--" + name.replace("_", "-")
