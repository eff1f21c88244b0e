"""Which Block Kit element types may sit where: the sets the limit checker walks by."""

_SELECTS = frozenset(
    f"{multi}{kind}_select"
    for multi in ("", "multi_")
    for kind in ("static", "external", "users", "conversations", "channels")
)
_PICKERS = frozenset({"datepicker", "timepicker", "datetimepicker"})
_CHOICES = frozenset({"checkboxes", "radio_buttons"})
_ACTION_ELEMENTS = frozenset({"button", "overflow"}) | _SELECTS | _PICKERS | _CHOICES
_ACCESSORIES = _ACTION_ELEMENTS | {"image"}
_INPUT_ELEMENTS = (
    frozenset({"plain_text_input", "file_input", "number_input", "email_text_input", "url_text_input"})
    | frozenset({"rich_text_input"})
    | _SELECTS
    | _PICKERS
    | _CHOICES
)
