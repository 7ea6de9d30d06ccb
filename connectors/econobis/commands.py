"""The commands the hub queues for Econobis (a sign-up, a follow-up kansactie, a kansactie update, a
Hoomdossier registration through Econobis) and the one way each is put in the outbox."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import Connection

from connectors.econobis.settings import PARTNER
from hub.store import Store
from hub.worker import outbox_key


class SignUp(BaseModel):
    """A resident's sign-up for a campaign, as the hub received it (any web form, any channel)."""

    key: str = Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    first_name: str | None = None
    last_name_prefix: str | None = None
    last_name: str | None = None
    organisation_name: str | None = None
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    number: str
    addition: str | None = None
    postcode: str
    city: str | None = None
    campaign_id: int  # the tenant's Econobis campaign id
    measures: list[str] = Field(default_factory=list)  # measure names, resolved per instance
    sources: list[str] = Field(default_factory=list)  # intake source names
    consent: bool = False
    note: str | None = None
    # a visit kansactie with this coach (an Econobis contact id that is a coach of the campaign)
    visit_coach_id: int | None = None


class KansactieCreate(BaseModel):
    """A follow-up kansactie on an existing kans (e.g. "call the resident" for a stalled dossier)."""

    key: str = Field(min_length=4, max_length=64)
    opportunity_id: int  # Econobis kans id
    action: str  # opportunity action code_ref: visit, quotation-request, subsidy-request, redirection
    status: str = "default"
    coach_id: int | None = None
    text: str = ""


class MakeHoomdossier(BaseModel):
    """Register a resident in Hoomdossier through Econobis' own `make-hoomdossier` (contracts/econobis.md §2.1),
    so Econobis stores the account id its Hoomdossier endpoints check. Pointed at the hub's register proxy,
    the register call behind it is idempotent too."""

    contact_id: int


class KansactieUpdate(BaseModel):
    """A change to an existing kansactie: by its Econobis id, or — for one the hub queued itself — by the kans it
    hangs on and the key of its create (`marker`: the `[hub:<key>]` its description carries), found there when
    the update is sent."""

    key: str = Field(min_length=4, max_length=64)
    quotation_request_id: int | None = None
    opportunity_id: int | None = None
    marker: str | None = None
    status: str | None = None  # code_ref within the action type
    date_planned: str | None = None  # "YYYY-MM-DD HH:MM"
    date_recorded: str | None = None
    coach_id: int | None = None
    # a Budgetaanvraag following a premium decision (couplings/fluvius_econobis.py): the dates that make
    # Econobis' observer land on the status (contracts/econobis.md §1.8) and the granted amount. Econobis'
    # update ignores `amountDetermination`, so the determined (paid) amount can only go in `award_amount`.
    award_amount: float | None = None
    date_under_review: str | None = None  # "YYYY-MM-DD"
    date_approved_external: str | None = None
    not_approved_external: bool | None = None
    date_approved_determination: str | None = None
    not_approved_determination: bool | None = None


SIGNUP = "webform-signup"
KANSACTIE_CREATE = "kansactie-create"
KANSACTIE_UPDATE = "kansactie-update"
MAKE_HOOMDOSSIER = "make-hoomdossier"


def signup_key(signup_key: str) -> str:
    # "webform", not the operation name: the key format predates the operation names and must not change
    return outbox_key(PARTNER, "webform", signup_key)


def kansactie_key(operation: str, key: str) -> str:
    return outbox_key(PARTNER, operation, key)


def make_hoomdossier_key(tenant: str, contact_id: int) -> str:
    return outbox_key(PARTNER, MAKE_HOOMDOSSIER, tenant, contact_id)


def enqueue_signup(store: Store, tenant: str, signup: SignUp) -> int:
    """Queue a sign-up once (the key is the idempotency key); returns the outbox id."""
    with store.begin() as conn:
        item = store.outbox_enqueue(conn, tenant, PARTNER, SIGNUP, signup_key(signup.key), signup.model_dump())
    return item.id


def enqueue_signup_in(store: Store, conn: Connection, tenant: str, signup: SignUp) -> bool:
    """Queue a sign-up in the caller's transaction (once per key); True when newly queued."""
    return store.outbox_enqueue(conn, tenant, PARTNER, SIGNUP, signup_key(signup.key), signup.model_dump()).created


def enqueue_make_hoomdossier(store: Store, conn: Connection, tenant: str, contact_id: int) -> bool:
    """Queue a registration in the caller's transaction (once per contact); True when newly queued."""
    item = store.outbox_enqueue(
        conn,
        tenant,
        PARTNER,
        MAKE_HOOMDOSSIER,
        make_hoomdossier_key(tenant, contact_id),
        MakeHoomdossier(contact_id=contact_id).model_dump(),
    )
    return item.created


def enqueue_kansactie_in(
    store: Store, conn: Connection, tenant: str, request: KansactieCreate | KansactieUpdate
) -> bool:
    """Queue a kansactie command in the caller's transaction (once per key); True when newly queued."""
    op = KANSACTIE_CREATE if isinstance(request, KansactieCreate) else KANSACTIE_UPDATE
    return store.outbox_enqueue(conn, tenant, PARTNER, op, kansactie_key(op, request.key), request.model_dump()).created


def enqueue_kansactie(store: Store, tenant: str, request: KansactieCreate | KansactieUpdate) -> int:
    op = KANSACTIE_CREATE if isinstance(request, KansactieCreate) else KANSACTIE_UPDATE
    with store.begin() as conn:
        item = store.outbox_enqueue(conn, tenant, PARTNER, op, kansactie_key(op, request.key), request.model_dump())
    return item.id
