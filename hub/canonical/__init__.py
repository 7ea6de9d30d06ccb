"""The canonical dwelling/dossier model: pydantic entities, journey phases, dwelling keys, survivorship rules."""

from hub.canonical.keys import dwelling_key
from hub.canonical.models import (
    ENTITY_MODELS,
    Action,
    Advice,
    Appointment,
    Campaign,
    CanonicalModel,
    Document,
    Dossier,
    Dwelling,
    DwellingFile,
    EnergyCertificate,
    FollowUp,
    Intake,
    Invoice,
    Opportunity,
    PremiumApplication,
    PremiumFile,
    Resident,
)
from hub.canonical.phases import FUNNEL, Phase
from hub.canonical.survivorship import RULES, Observation, new_value_wins

__all__ = [
    "ENTITY_MODELS",
    "FUNNEL",
    "RULES",
    "Action",
    "Advice",
    "Appointment",
    "Campaign",
    "CanonicalModel",
    "Document",
    "Dossier",
    "Dwelling",
    "DwellingFile",
    "EnergyCertificate",
    "FollowUp",
    "Intake",
    "Invoice",
    "Observation",
    "Opportunity",
    "Phase",
    "PremiumApplication",
    "PremiumFile",
    "Resident",
    "dwelling_key",
    "new_value_wins",
]
