"""Text folding shared by the intent modules: lower case, umlauts spelt out, positions kept."""

from __future__ import annotations

from dataclasses import dataclass

_FOLD = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "’": "'", "–": "-", "—": "-"}


def fold(text: str) -> str:
    """``text`` in lower case with ä/ö/ü/ß written as ae/oe/ue/ss, so either spelling matches."""
    return "".join(_FOLD.get(char, char) for char in text.lower())


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A folded copy of a text that still knows where each of its characters came from."""

    original: str
    folded: str
    _origin: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> FoldedText:
        folded: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            replacement = fold(char)
            folded.append(replacement)
            origin.extend([index] * len(replacement))
        origin.append(len(text))
        return cls(text, "".join(folded), tuple(origin))

    def original_span(self, start: int, end: int) -> str:
        """The original text behind ``folded[start:end]``."""
        if start >= end:
            return ""
        return self.original[self._origin[start] : self._origin[end - 1] + 1]

    def replaced(self, edits: list[tuple[int, int, str]]) -> FoldedText:
        """A copy with ``folded[start:end]`` replaced by each edit's text (edits sorted, not overlapping); the
        replacement's characters still lead back to the original words they stand for."""
        folded: list[str] = []
        origin: list[int] = []
        position = 0
        for start, end, replacement in edits:
            folded.append(self.folded[position:start])
            origin.extend(self._origin[position:start])
            folded.append(replacement)
            if replacement:
                origin.extend([self._origin[start]] * (len(replacement) - 1) + [self._origin[end - 1]])
            position = end
        folded.append(self.folded[position:])
        origin.extend(self._origin[position:])
        return FoldedText(self.original, "".join(folded), tuple(origin))
