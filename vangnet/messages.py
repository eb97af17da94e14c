"""The Dutch message catalogue: every text a user reads about an invalid claim comes from here.

Messages say what is wrong and what would be valid. Placeholders use `str.format` names.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MESSAGES", "message"]

MESSAGES: dict[str, str] = {
    # structure
    "missing": "is verplicht maar ontbreekt",
    "extra_forbidden": "is geen veld van het aanvraagformaat v1; verwijder dit veld",
    "object": "moet een object zijn (tussen accolades {{ }})",
    "list": "moet een lijst zijn (tussen blokhaken [ ])",
    "list_too_short": "moet minstens {min_length} regel(s) bevatten",
    "list_too_long": "mag hoogstens {max_length} regels bevatten",
    # scalars
    "text": "moet tekst zijn",
    "text_empty": "mag niet leeg zijn",
    "text_too_short": "moet minstens {min_length} teken(s) bevatten",
    "text_too_long": "mag hoogstens {max_length} tekens bevatten",
    "text_unicode": "bevat tekens die geen geldige Unicode zijn; verwijder ze",
    "boolean": "moet true of false zijn (zonder aanhalingstekens)",
    "integer": "moet een geheel getal zijn, zonder decimalen, bijvoorbeeld 45000",
    "date": "moet een datum zijn in de vorm JJJJ-MM-DD, bijvoorbeeld 2016-03-01",
    "choice": "moet een van deze waarden zijn: {expected}",
    "greater_than": "moet groter zijn dan {gt}",
    "greater_than_equal": "moet {ge} of meer zijn",
    "less_than_equal": "mag hoogstens {le} zijn",
    # money and quantities
    "money": (
        "moet een bedrag in euro zijn: een getal (of tekst met een getal) met hoogstens"
        " twee decimalen, bijvoorbeeld 2600 of 2600.50"
    ),
    "money_decimals": "heeft meer dan twee decimalen; rond af op hele centen, bijvoorbeeld 2600.50",
    "money_negative": "moet 0 of meer zijn",
    "money_positive": "moet groter zijn dan 0",
    "money_too_large": "mag hoogstens {limit} zijn",
    "quantity": "moet een aantal zijn: een getal groter dan 0 met hoogstens twee decimalen",
    "quantity_decimals": "heeft meer dan twee decimalen; gebruik hoogstens twee, bijvoorbeeld 2.5",
    "quantity_positive": "moet groter zijn dan 0",
    "quantity_too_large": "mag hoogstens {limit} zijn",
    "line_too_large": (
        "aantal maal prijs per eenheid is {amount}; een regel mag hoogstens {limit} bedragen"
    ),
    # specific fields
    "claim_id": (
        "moet 1 tot 64 tekens zijn uit A-Z, a-z, 0-9, punt, liggend streepje of koppelteken"
    ),
    "cbs_code": "moet een CBS-gemeentecode zijn: GM gevolgd door 4 cijfers, bijvoorbeeld GM0363",
    "required_for_scheme": "is verplicht voor de regeling {scheme}",
    # whole documents
    "json": "is geen geldige JSON: {detail} (regel {line}, kolom {column})",
    "json_duplicate_key": "komt twee keer voor in hetzelfde object",
    "json_constant": "{value} is geen getal; gebruik een gewoon getal",
    "json_encoding": "is geen UTF-8-tekst",
    "json_depth": "is te diep genest om te lezen; een aanvraag heeft hoogstens enkele niveaus",
    "invalid": "heeft een ongeldige waarde",
    # decision lines (appended to the explanation the ruleset gives)
    "line_partial": "Vergoedbaar: {eligible} van {claimed}.",
    "line_nothing_left": "Er blijft niets over om te vergoeden.",
    # refusals
    "refusal_invalid_one": "De aanvraag is ongeldig: 1 probleem.",
    "refusal_invalid_many": "De aanvraag is ongeldig: {count} problemen.",
    "no_ruleset": (
        "Er is geen versie van de regeling {scheme} van kracht op de peildatum {date}."
        " De versies gelden: {periods}."
    ),
    "unknown_scheme": "De regeling {scheme} bestaat niet. Bekende regelingen: {schemes}.",
}


def message(key: str, **values: Any) -> str:
    """The Dutch text for `key`, filled in with `values`."""
    return MESSAGES[key].format(**values)
