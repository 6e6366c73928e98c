"""The prompt editor: prompt text with inline errors, and a residue strip kept in sync with it.

The text is the source of truth. Every edit reparses it with ``core.prompt``, and the
strip shows the parsed cells. Clicks on the strip rewrite the text through the undo
stack, so Ctrl+Z reverts a click. The editor also remembers the residue that was at
each masked position, so that a masked cell can be unmasked again and candidates can
be compared with the residues they replaced.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from core.prompt import Prompt, PromptError, parse_prompt

from .fasta import looks_like_fasta
from .prompt_cells import FIXED, RESTRICTED, VARIABLE, MaskEditError, prompt_cells, set_masked
from .residue_strip import VARIABLE_SPAN_UNITS, ResidueStrip, StripCell

SYNTAX_HELP = ("Letters: fixed residues · _ one masked residue · [n] n masked · [a-b] a span of a to b, "
               "length drawn per candidate · {ST} one residue, S or T · click or drag over cells to mask them")


class PromptTextEdit(QPlainTextEdit):
    """Plain-text editor that hands pasted FASTA text to its owner instead of inserting it."""

    fastaPasted = Signal(str)

    def insertFromMimeData(self, source) -> None:
        if source.hasText() and looks_like_fasta(source.text()):
            self.fastaPasted.emit(source.text())
            return
        super().insertFromMimeData(source)


class PromptEditor(QWidget):
    """Prompt text, its parse error and its residue strip."""

    promptChanged = Signal()
    fastaPasted = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._prompt: Prompt | None = None
        self._error: PromptError | None = None
        self._notice = ""
        self._model_length: int | None = None
        self._reference: dict[int, str] = {}
        self._cell_count = -1
        self._next_reference: dict[int, str] | None = None

        self.text_edit = PromptTextEdit()
        self.text_edit.setObjectName("promptText")
        self.text_edit.setPlaceholderText("Type a sequence with masked spans, e.g. MKV[5]GLE, or paste FASTA")
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.text_edit.setFont(font)
        self.text_edit.setTabChangesFocus(True)
        self.text_edit.setFixedHeight(self.text_edit.fontMetrics().lineSpacing() * 3 + 14)
        self.text_edit.setToolTip(SYNTAX_HELP.replace(" · ", "\n"))
        self.text_edit.fastaPasted.connect(self.fastaPasted)
        self.text_edit.textChanged.connect(self._reparse)

        self.message_label = QLabel()
        self.message_label.setObjectName("promptMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.strip = ResidueStrip(editable=True)
        self.strip.setObjectName("promptStrip")
        self.strip.set_placeholder("The residues of a valid prompt appear here.")
        self.strip.maskRequested.connect(self._apply_mask_request)

        help_label = QLabel(SYNTAX_HELP)
        help_label.setWordWrap(True)
        help_label.setStyleSheet("color: palette(placeholder-text);")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.text_edit)
        layout.addWidget(self.message_label)
        layout.addWidget(self.strip)
        layout.addWidget(help_label)
        self._reparse()

    # Public API ---------------------------------------------------------------

    def text(self) -> str:
        return self.text_edit.toPlainText()

    def set_text(self, text: str, reference: dict[int, str] | None = None) -> None:
        """Replace the prompt text; ``reference`` gives the residues known for masked positions."""
        self._next_reference = dict(reference) if reference is not None else None
        cursor = QTextCursor(self.text_edit.document())
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        if self._next_reference is not None:  # the text did not change, so no reparse ran
            self._reparse()

    def set_sequence(self, sequence: str) -> None:
        """Replace the prompt with a plain sequence, which also becomes the reference residues."""
        self.set_text(sequence, {i: letter for i, letter in enumerate(sequence.upper())})

    def set_model_length(self, max_tokens: int | None) -> None:
        """Check prompts against a model of ``max_tokens`` tokens (BOS and EOS included); None skips the check."""
        self._model_length = max_tokens
        self._reparse()

    def prompt(self) -> Prompt | None:
        return self._prompt

    def error(self) -> PromptError | None:
        return self._error

    def reference(self) -> dict[int, str]:
        """Residues known for the prompt's masked positions (0-based position -> letter)."""
        if self._prompt is None:
            return {}
        masked = {cell.position for cell in prompt_cells(self._prompt) if cell.kind != FIXED}
        return {position: letter for position, letter in self._reference.items() if position in masked}

    def run_blocker(self) -> str | None:
        """Return why the prompt cannot be run, or None when it can."""
        if self._error is not None:
            return self.error_text()
        if self._prompt is None:
            return "Type a prompt first."
        if self._prompt.masked_count_range[1] == 0:
            return "The prompt has no masked position: mask residues with _, [n] or by clicking cells."
        return None

    def error_text(self) -> str:
        if self._error is None:
            return ""
        return f"Position {self._error.position + 1}: {self._error.reason}"

    # Parsing ------------------------------------------------------------------

    def _reparse(self) -> None:
        text = self.text()
        self._notice = ""
        try:
            prompt = parse_prompt(text, self._model_length)
        except PromptError as error:
            self._prompt, self._error = None, (error if text.strip() else None)
            self._cell_count = -1
            self.strip.set_cells([])
        else:
            self._prompt, self._error = prompt, None
            self._update_reference(prompt)
            self.strip.set_cells(self._strip_cells(prompt))
        self._next_reference = None
        self._show_error()
        self.promptChanged.emit()

    def _update_reference(self, prompt: Prompt) -> None:
        cells = prompt_cells(prompt)
        if self._next_reference is not None:
            self._reference = dict(self._next_reference)
        elif len(cells) != self._cell_count or any(cell.kind == VARIABLE for cell in cells):
            # The layout moved, so the remembered residues no longer match their positions.
            self._reference = {}
        for cell in cells:
            if cell.kind == FIXED and cell.position is not None:
                self._reference[cell.position] = cell.label
        self._cell_count = len(cells)

    def _strip_cells(self, prompt: Prompt) -> list[StripCell]:
        strip = []
        for cell in prompt_cells(prompt):
            number = "after a variable span" if cell.position is None else f"{cell.position + 1}"
            known = self._reference.get(cell.position) if cell.position is not None else None
            if cell.kind == FIXED:
                tip = f"Position {number}: {cell.label} (fixed). Click to mask it."
                strip.append(StripCell(cell.label, False, cell.position, tooltip=tip))
            elif cell.kind == VARIABLE:
                tip = f"Masked span of {cell.label[1:-1]} residues, length drawn per candidate. Edit it in the text."
                strip.append(StripCell(cell.label, True, None, toggleable=False, units=VARIABLE_SPAN_UNITS,
                                       tooltip=tip))
            else:
                allowed = f", restricted to {', '.join(cell.label)}" if cell.kind == RESTRICTED else ""
                hint = f"Click to put back {known}." if known else "No residue known here: type one to unmask."
                tip = f"Position {number}: masked{allowed}. {hint}"
                label = "_" if cell.kind != RESTRICTED else cell.label
                strip.append(StripCell(label, True, cell.position, tooltip=tip))
        return strip

    def _apply_mask_request(self, indices: list, masked: bool) -> None:
        if self._prompt is None:
            return
        try:
            text = set_masked(self._prompt, indices, masked, self._reference)
        except MaskEditError as error:
            self._notice = str(error)[0].upper() + str(error)[1:] + "."
            self._show_error()
            return
        if text != self.text():
            self.set_text(text, self._reference)

    def _show_error(self) -> None:
        selections = []
        if self._error is not None:
            self.message_label.setText(self.error_text())
            self.message_label.setStyleSheet("color: #b00020;")
            selection = QTextEdit.ExtraSelection()
            char_format = QTextCharFormat()
            char_format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            char_format.setUnderlineColor(QColor("#b00020"))
            char_format.setBackground(QColor("#ffdada"))
            selection.format = char_format
            cursor = QTextCursor(self.text_edit.document())
            position = min(self._error.position, max(0, len(self.text()) - 1))
            cursor.setPosition(position)
            cursor.movePosition(QTextCursor.MoveOperation.NextCharacter, QTextCursor.MoveMode.KeepAnchor)
            selection.cursor = cursor
            selections.append(selection)
        elif self._notice:
            self.message_label.setText(self._notice)
            self.message_label.setStyleSheet("color: #8a5a00;")
        elif self._prompt is not None:
            low, high = self._prompt.masked_count_range
            masked = f"{low}" if low == high else f"{low}-{high}"
            length = (f"{self._prompt.min_length}" if self._prompt.min_length == self._prompt.max_length
                      else f"{self._prompt.min_length}-{self._prompt.max_length}")
            self.message_label.setText(f"{length} residues, {masked} masked.")
            self.message_label.setStyleSheet("color: palette(placeholder-text);")
        else:
            self.message_label.setText("")
        self.text_edit.setExtraSelections(selections)
