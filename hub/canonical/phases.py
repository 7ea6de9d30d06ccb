"""The canonical journey phases (klantreis) of DOMAIN.md and their order.

Every partner status is mapped onto one of these per dossier; a dossier records each phase it reaches once."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    INTEREST = "interest"
    CONTACT = "contact"
    ADVICE = "advice"
    FINANCING = "financing"
    QUOTATION = "quotation"
    EXECUTION = "execution"
    DONE = "done"
    STOPPED = "stopped"

    @property
    def order(self) -> int:
        return PHASE_ORDER[self]

    @property
    def label(self) -> str:
        return PHASE_LABELS[self]


PHASE_ORDER: dict[Phase, int] = {
    Phase.INTEREST: 1,
    Phase.CONTACT: 2,
    Phase.ADVICE: 3,
    Phase.FINANCING: 4,
    Phase.QUOTATION: 5,
    Phase.EXECUTION: 6,
    Phase.DONE: 7,
    Phase.STOPPED: 99,
}

PHASE_LABELS: dict[Phase, str] = {
    Phase.INTEREST: "1 interest (aanmelding)",
    Phase.CONTACT: "2 contact (in behandeling)",
    Phase.ADVICE: "3 advice (bezoek/woonplan)",
    Phase.FINANCING: "4 financing (subsidie/premie)",
    Phase.QUOTATION: "5 quotation (offerte)",
    Phase.EXECUTION: "6 execution (uitvoering)",
    Phase.DONE: "7 done (afgerond)",
    Phase.STOPPED: "stopped (gestopt)",
}

FUNNEL: tuple[Phase, ...] = tuple(sorted(PHASE_ORDER, key=PHASE_ORDER.__getitem__))
