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
    # the Excel intake form: the file (vangnet.excel.container)
    "xlsx_unreadable_file": "Het bestand kan niet worden gelezen: {reason}.",
    "xlsx_too_large": (
        "Het bestand is {size}. Een formulier mag hoogstens {limit} zijn. Stuur het"
        " aanvraagformulier zonder andere bladen, plaatjes of bijlagen."
    ),
    "xlsx_macro_suffix": (
        "Een werkmap met macro's ({suffix}) nemen wij niet aan. Bewaar het formulier als"
        " Excel-werkmap (.xlsx), zonder macro's."
    ),
    "xlsx_macro": (
        "De werkmap bevat macro's of ActiveX-elementen. Die nemen wij niet aan. Bewaar het"
        " formulier als Excel-werkmap (.xlsx), zonder macro's."
    ),
    "xlsx_other_suffix": (
        "Een bestand {suffix} kunnen wij niet lezen. Bewaar het formulier als Excel-werkmap"
        " (.xlsx)."
    ),
    "xlsx_old_format": (
        "Dit is geen .xlsx-bestand: het is een oud Excel-bestand (.xls) of een bestand met een"
        " wachtwoord. Bewaar het formulier zonder wachtwoord als Excel-werkmap (.xlsx)."
    ),
    "xlsx_not_zip": (
        "Dit bestand is geen Excel-werkmap (.xlsx). Gebruik het aanvraagformulier en bewaar het"
        " als Excel-werkmap."
    ),
    "xlsx_corrupt": (
        "Het bestand is beschadigd ({detail}). Open het formulier in Excel en bewaar het opnieuw"
        " als Excel-werkmap (.xlsx)."
    ),
    "xlsx_too_many_parts": (
        "Het bestand bestaat uit meer dan {limit} delen. Zo ziet een aanvraagformulier er nooit"
        " uit; wij lezen het niet."
    ),
    "xlsx_unpacks_too_large": (
        "Het bestand pakt uit tot meer dan {limit}. Zo groot is een aanvraagformulier nooit;"
        " wij lezen het niet."
    ),
    "xlsx_unreadable": (
        "De werkmap kan niet worden gelezen ({detail}). Open het formulier in Excel en bewaar"
        " het opnieuw als Excel-werkmap (.xlsx)."
    ),
    # the Excel intake form: its layout (vangnet.excel.read)
    "form_not_ours": (
        "Dit is geen aanvraagformulier van vangnet: de naam {name} ontbreekt. Maak een nieuw"
        " formulier met 'vangnet forms intake' en vul dat in."
    ),
    "form_version_unknown": (
        "formulierversie {version} kunnen wij niet lezen. Wij lezen de versies {supported}."
        " Vul een nieuw formulier in."
    ),
    "form_catalogue_unknown": (
        "de catalogus van {value} kennen wij niet. Bekende catalogi: {known}. Vul een nieuw"
        " formulier in."
    ),
    "form_catalogue_not_in_force": (
        "op de peildatum {date} geldt de catalogus van {in_force}, maar dit formulier heeft de"
        " catalogus van {catalogue}. Maak een formulier voor deze peildatum:"
        " vangnet forms intake --on {date}."
    ),
    "form_sheet_missing": (
        "het blad {sheet} ontbreekt. Verander de bladen van het formulier niet; vul zo nodig een"
        " nieuw formulier in."
    ),
    "form_name_missing": (
        "de naam {name} ontbreekt. Verander de namen in het formulier niet; vul zo nodig een"
        " nieuw formulier in."
    ),
    "form_name_broken": (
        "de naam {name} wijst niet naar {what}, maar naar {target}. Verander de namen in het"
        " formulier niet; vul zo nodig een nieuw formulier in."
    ),
    "form_name_one_cell": "één cel",
    "form_name_column": "een kolom met {lines} regels, gelijk met de andere kolommen",
    # the Excel intake form: the cells (vangnet.excel.read); {label} is the cell's label
    "form_empty": "{label} is leeg; vul dit in",
    "form_text": "{label} moet tekst zijn",
    "form_number": "{label} moet een getal zijn, bijvoorbeeld {example}",
    "form_integer": "{label} moet een heel getal zijn, bijvoorbeeld 45000",
    "form_date": "{label} moet een datum zijn (dag-maand-jaar), bijvoorbeeld 01-03-2016",
    "form_choice": "{label}: kies een waarde uit de lijst: {choices}",
    "form_measure": (
        "{label}: deze maatregel staat niet in de lijst. Kies een maatregel uit de lijst, of"
        " kies '{none}' en beschrijf de maatregel"
    ),
    "form_measure_empty": (
        "{label} is leeg. Kies een maatregel uit de lijst, of kies '{none}' en beschrijf de"
        " maatregel"
    ),
    "form_no_lines": "er staat geen enkele maatregel in het formulier; vul minstens één regel in",
    "form_claim": "{label} {message}",
    "form_cached": (
        "in het bestand staat hier {shown}, maar wij rekenen {computed}. Laat Excel opnieuw"
        " rekenen en kijk de regels na"
    ),
}


def message(key: str, **values: Any) -> str:
    """The Dutch text for `key`, filled in with `values`."""
    return MESSAGES[key].format(**values)
