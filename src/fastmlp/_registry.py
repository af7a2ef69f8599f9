"""The one lookup policy behind every ``get()`` of the package.

A :class:`Registry` maps canonical names (``"leaky_relu"``, ``"mean_squared_error"``,
``"adam"``) to what they stand for. Lookups ignore case and underscores, so Keras'
spellings of the same name work (``"ReLU"``, ``"LeakyReLU"``, ``"MeanSquaredError"``,
``"AdaMax"``), and accept each registry's aliases (``"mse"``, ``"acc"``, ``"logistic"``).
An unknown name raises ``ValueError`` listing the valid names; a name that is not a string
raises :class:`~fastmlp._scalars.ParamTypeError` (a ``TypeError``, and a ``ValueError``
like every bad parameter). Iteration yields the canonical names only, in registration
order, and ``name in registry`` follows the lookup policy.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

from ._scalars import ParamTypeError

V = TypeVar("V")


def _fold(name: str) -> str:
    """The form names are compared in: lower case, without underscores."""
    return name.lower().replace("_", "")


class Registry(Mapping[str, V]):
    """Canonical name -> value, looked up by the package's one policy.

    Parameters
    ----------
    kind : str
        What the names name, for messages (``"activation"``).
    entries : mapping or iterable of (str, value) pairs
        The canonical names and their values, in the order listings show them.
    aliases : mapping of str to str, optional
        Further names (and ``None``, for a registry where no name means a default) ->
        canonical name.
    plural : str, optional
        The plural of ``kind`` in messages (default ``kind + "s"``).
    hint : str, optional
        Appended to the list of valid names in the unknown-name message.

    Examples
    --------
    >>> colours = Registry("colour", {"dark_red": 1, "blue": 2}, aliases={"navy": "blue"})
    >>> colours.canonical("DarkRed"), colours["NAVY"], list(colours)
    ('dark_red', 2, ['dark_red', 'blue'])
    >>> colours.canonical("green")
    Traceback (most recent call last):
    ...
    ValueError: unknown colour 'green'; valid colours are: dark_red, blue
    """

    def __init__(self, kind: str, entries: Mapping[str, V] | Iterable[tuple[str, V]],
                 aliases: Mapping[str | None, str] | None = None, *, plural: str | None = None,
                 hint: str = "") -> None:
        self.kind = kind
        self.plural = plural or kind + "s"
        self.hint = hint
        self._entries: dict[str, V] = dict(entries)
        self._names: dict[str | None, str] = {}
        pairs = [(name, name) for name in self._entries] + list((aliases or {}).items())
        for alias, name in pairs:
            key = alias if alias is None else _fold(alias)
            if name not in self._entries or self._names.get(key, name) != name:
                raise ValueError(f"{kind} registry: {alias!r} -> {name!r} is not a unique "
                                 "name of a registered entry")
            self._names[key] = name

    def canonical(self, name: str | None) -> str:
        """The canonical name of ``name`` (a canonical name, an alias or another spelling).

        Parameters
        ----------
        name : str
            The name to look up; case and underscores do not matter.

        Returns
        -------
        str
            The name as the registry lists it.

        Raises
        ------
        ParamTypeError
            If ``name`` is not a string (nor ``None`` where ``None`` is an alias).
        ValueError
            If the name is unknown; the message lists the valid names.

        Examples
        --------
        >>> Registry("colour", {"dark_red": 1}).canonical("DARK_RED")
        'dark_red'
        """
        if name is None and None in self._names:
            return self._names[None]
        if not isinstance(name, str):
            raise ParamTypeError(f"{self.kind} must be a name (a string), got "
                            f"{type(name).__name__} {name!r}")
        found = self._names.get(_fold(name))
        if found is None:
            raise ValueError(f"unknown {self.kind} {name!r}; valid {self.plural} are: "
                             f"{', '.join(self._entries)}{self.hint}")
        return found

    def __getitem__(self, name: str) -> V:
        found = self._names.get(_fold(name)) if isinstance(name, str) else None
        if found is None:
            raise KeyError(name)
        return self._entries[found]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self._entries!r})"
