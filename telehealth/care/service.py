"""Episodes of care and plans of care: opened, written and revised by the patient's therapists,
certified, counted and discharged; read by the patient in plain words. Every function works
inside the caller's unit of work, scoped to who may see the patient, and is audited."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from telehealth.accounts.access import get_visible_patient, patients_visible_to
from telehealth.accounts.models import User
from telehealth.audit.chain import AuditRecord
from telehealth.care import rules
from telehealth.care.models import (
    CareCertification,
    CareDischarge,
    CareEpisode,
    CareEpisodeVisit,
    CarePlanVersion,
)
from telehealth.care.rules import (
    CertificationEvent,
    CertificationKind,
    CertificationState,
    EpisodeWindow,
    Goal,
    GoalStatus,
    PlanDraft,
    ProgressClock,
)
from telehealth.catalog.loader import Catalog
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from telehealth.notes.access import counted_clause
from telehealth.notes.billing import bill_note
from telehealth.notes.models import SIGNED, VisitNote
from telehealth.notes.rules import EVALUATION_CPTS, RE_EVALUATION_CPT, NoteContent
from telehealth.scheduling.models import ACTIVE_STATUSES, Appointment
from telehealth.unit_of_work import UnitOfWork

# Notes that report progress toward every goal: each starts a new 10-treatment-day period.
REPORT_NOTE_TYPES = frozenset({"progress", "re_evaluation"})
MAX_TITLE = 120


@dataclass(frozen=True)
class PlanView:
    """One stored version of a plan, as pages show it."""

    id: uuid.UUID
    version: int
    written_at: datetime
    written_by: str
    draft: PlanDraft
    cert_end: date
    change_reason: str

    @property
    def planned_visits(self) -> int:
        """Visits the plan provides for."""
        return rules.planned_visits(self.draft)

    @property
    def frequency_words(self) -> str:
        """ "twice a week"."""
        return rules.frequency_words(self.draft.frequency_per_week, self.draft.amount_per_day)

    @property
    def duration_words(self) -> str:
        """ "for 6 weeks"."""
        return rules.duration_words(self.draft.duration_weeks, self.draft.duration_visits)


@dataclass(frozen=True)
class VisitCount:
    """A held visit counted in an episode (or waiting to be placed in one)."""

    appointment_id: uuid.UUID
    start_at: datetime
    note_type: str | None
    billable: bool


@dataclass(frozen=True)
class EpisodeView:
    """An episode with its plan in force, its clocks and its visits."""

    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    therapist_id: uuid.UUID
    therapist_name: str
    title: str
    opened_at: datetime
    plan: PlanView | None
    versions: tuple[tuple[int, datetime, str], ...]
    certification: CertificationState | None
    progress: ProgressClock
    visits_used: int
    next_visit: datetime | None
    last_pain: int | None
    visits: tuple[VisitCount, ...]
    unplaced: tuple[VisitCount, ...]
    # Held visits of this episode whose notes are not signed yet (being written).
    unsigned: tuple[uuid.UUID, ...] = ()
    discharged_at: datetime | None = None
    discharge_summary: str = ""
    keep_doing: str = ""
    goal_outcomes: Mapping[str, GoalStatus] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Open until discharged."""
        return self.discharged_at is None

    @property
    def goals(self) -> tuple[Goal, ...]:
        """The goals of the plan in force, with their outcome once discharged."""
        if self.plan is None:
            return ()
        return tuple(
            replace(g, status=self.goal_outcomes.get(g.id, g.status)) for g in self.plan.draft.goals
        )

    @property
    def alerts(self) -> tuple[str, ...]:
        """What needs doing before it lapses, in words, most urgent first."""
        found: list[str] = []
        if not self.active:
            return ()
        if self.plan is None:
            return ("No plan of care written yet",)
        if self.progress.status != "ok":
            found.append(self.progress.words)
        cert = self.certification
        if cert is not None and (cert.lapsed or cert.recertify_soon):
            found.append(cert.period_words)
        if cert is not None and cert.signature_due is not None and cert.today > cert.signature_due:
            found.append(cert.signature_words)
        return tuple(found)


# --- reading -------------------------------------------------------------------------------------


def _plan_view(row: CarePlanVersion, writer: str) -> PlanView:
    draft = PlanDraft(
        start_date=row.start_date,
        frequency_per_week=row.frequency_per_week,
        duration_weeks=row.duration_weeks,
        duration_visits=row.duration_visits,
        amount_per_day=row.amount_per_day,
        diagnoses=tuple(row.diagnoses),
        interventions=tuple(row.interventions),
        modalities=tuple(row.modalities),
        goals=tuple(Goal.from_data(g) for g in row.goals),
        cert_end=row.cert_end,
    )
    return PlanView(
        id=row.id,
        version=row.version,
        written_at=row.written_at,
        written_by=writer,
        draft=draft,
        cert_end=row.cert_end,
        change_reason=row.change_reason,
    )


async def _names(uow: UnitOfWork, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await uow.session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {row.id: row.display_name for row in rows}


async def _views(
    uow: UnitOfWork, catalog: Catalog, episodes: Sequence[CareEpisode]
) -> list[EpisodeView]:
    """Build the views of episodes, reading each table once for all of them."""
    if not episodes:
        return []
    session = uow.session
    patient_ids = {e.patient_id for e in episodes}
    # Every episode of these patients decides where a visit counts, not only the ones shown.
    every = (
        await session.scalars(select(CareEpisode).where(CareEpisode.patient_id.in_(patient_ids)))
    ).all()
    episode_ids = [e.id for e in every]
    discharges = {
        d.episode_id: d
        for d in await session.scalars(
            select(CareDischarge).where(CareDischarge.episode_id.in_(episode_ids))
        )
    }
    plans: dict[uuid.UUID, list[CarePlanVersion]] = defaultdict(list)
    for version_row in await session.scalars(
        select(CarePlanVersion)
        .where(CarePlanVersion.episode_id.in_([e.id for e in episodes]))
        .order_by(CarePlanVersion.version)
    ):
        plans[version_row.episode_id].append(version_row)
    latest_plan_ids = [versions[-1].id for versions in plans.values()]
    certifications: dict[uuid.UUID, list[CertificationEvent]] = defaultdict(list)
    for cert in await session.scalars(
        select(CareCertification).where(CareCertification.plan_id.in_(latest_plan_ids))
    ):
        certifications[cert.plan_id].append(
            CertificationEvent(CertificationKind(cert.kind), cert.on_date, cert.practitioner)
        )
    links: dict[uuid.UUID, uuid.UUID] = {}
    for link in await session.scalars(
        select(CareEpisodeVisit)
        .where(CareEpisodeVisit.episode_id.in_(episode_ids))
        .order_by(CareEpisodeVisit.linked_at, CareEpisodeVisit.id)
    ):
        links[link.appointment_id] = link.episode_id  # the newest link wins
    held = (
        await session.execute(
            select(Appointment, VisitNote.note_type, VisitNote.content)
            .outerjoin(
                VisitNote,
                (VisitNote.appointment_id == Appointment.id) & (VisitNote.status == SIGNED),
            )
            .where(
                Appointment.patient_id.in_(patient_ids),
                Appointment.status.in_(ACTIVE_STATUSES),
                counted_clause(),
            )
            .order_by(Appointment.start_at)
        )
    ).all()
    windows: dict[uuid.UUID, list[EpisodeWindow]] = defaultdict(list)
    for e in every:
        closed = discharges.get(e.id)
        windows[e.patient_id].append(
            EpisodeWindow(e.id, e.opened_at, closed.discharged_at if closed else None)
        )
    zone = ZoneInfo(uow.actor.time_zone)
    counted: dict[uuid.UUID, list[VisitCount]] = defaultdict(list)
    upcoming: dict[uuid.UUID, datetime] = {}
    pain: dict[uuid.UUID, int] = {}
    unplaced: dict[uuid.UUID, list[VisitCount]] = defaultdict(list)
    unsigned: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for appointment, note_type, content in held:
        home = rules.episode_of_visit(
            appointment.start_at,
            links.get(appointment.id),
            windows[appointment.patient_id],
        )
        if note_type is None:
            # Not counted until its note is signed; the next one ahead is the next visit.
            if home is not None:
                unsigned[home].append(appointment.id)
                if appointment.start_at >= uow.now and home not in upcoming:
                    upcoming[home] = appointment.start_at
            continue
        note = NoteContent.model_validate(content)
        billable = bill_note(note, catalog, appointment.modality).total_units > 0
        visit = VisitCount(appointment.id, appointment.start_at, note_type, billable)
        if home is None:
            unplaced[appointment.patient_id].append(visit)
            continue
        counted[home].append(visit)
        recorded = note.pain_after if note.pain_after is not None else note.pain_before
        if recorded is not None:
            pain[home] = int(recorded)
    names = await _names(
        uow,
        [e.patient_id for e in episodes]
        + [e.therapist_id for e in episodes]
        + [p.written_by for versions in plans.values() for p in versions],
    )
    today = uow.now.astimezone(zone).date()
    views = []
    for e in episodes:
        versions = plans.get(e.id, [])
        plan = (
            _plan_view(versions[-1], names.get(versions[-1].written_by, "")) if versions else None
        )
        visits = counted.get(e.id, [])
        billable_days = [v.start_at.astimezone(zone).date() for v in visits if v.billable]
        report_days = [
            v.start_at.astimezone(zone).date() for v in visits if v.note_type in REPORT_NOTE_TYPES
        ]
        closed = discharges.get(e.id)
        views.append(
            EpisodeView(
                id=e.id,
                patient_id=e.patient_id,
                patient_name=names.get(e.patient_id, ""),
                therapist_id=e.therapist_id,
                therapist_name=names.get(e.therapist_id, ""),
                title=e.title,
                opened_at=e.opened_at,
                plan=plan,
                versions=tuple(
                    (p.version, p.written_at, names.get(p.written_by, "")) for p in versions
                ),
                certification=(
                    rules.certification_state(plan.cert_end, today, certifications[plan.id])
                    if plan is not None
                    else None
                ),
                progress=rules.progress_clock(billable_days, report_days),
                visits_used=len(visits),
                next_visit=upcoming.get(e.id),
                last_pain=pain.get(e.id),
                visits=tuple(visits),
                unplaced=tuple(unplaced.get(e.patient_id, [])),
                unsigned=tuple(unsigned.get(e.id, [])),
                discharged_at=closed.discharged_at if closed else None,
                discharge_summary=closed.summary if closed else "",
                keep_doing=closed.keep_doing if closed else "",
                goal_outcomes=(
                    {k: GoalStatus(v) for k, v in closed.goal_outcomes.items()} if closed else {}
                ),
            )
        )
    return views


async def _visible_episode(uow: UnitOfWork, episode_id: uuid.UUID, action: str) -> CareEpisode:
    async def fetch() -> CareEpisode:
        episode = await uow.session.get(CareEpisode, episode_id)
        if episode is None:
            raise NotFound("No such episode of care.")
        await get_visible_patient(uow.session, uow.actor, episode.patient_id)
        return episode

    return await uow.guarded(fetch(), action, "care_episode", str(episode_id))


def _audit(uow: UnitOfWork, action: str, episode: CareEpisode, **details: object) -> None:
    uow.audit(
        AuditRecord(
            action,
            "care_episode",
            resource_id=str(episode.id),
            patient_id=episode.patient_id,
            details=dict(details),
        )
    )


async def get_episode_in(uow: UnitOfWork, catalog: Catalog, episode_id: uuid.UUID) -> EpisodeView:
    """One episode with its plan in force, for the patient or staff who may see them."""
    episode = await _visible_episode(uow, episode_id, "care.episode.read")
    _audit(uow, "care.episode.read", episode)
    return (await _views(uow, catalog, [episode]))[0]


async def plan_version_in(uow: UnitOfWork, episode_id: uuid.UUID, version: int) -> PlanView:
    """An earlier version of an episode's plan, as it was written."""
    episode = await _visible_episode(uow, episode_id, "care.plan.read")
    row = await uow.session.scalar(
        select(CarePlanVersion).where(
            CarePlanVersion.episode_id == episode.id, CarePlanVersion.version == version
        )
    )
    if row is None:
        raise NotFound("No such version of this plan.")
    _audit(uow, "care.plan.read", episode, version=version)
    writer = (await _names(uow, [row.written_by])).get(row.written_by, "")
    return _plan_view(row, writer)


async def episodes_of_patient_in(
    uow: UnitOfWork, catalog: Catalog, patient_id: uuid.UUID
) -> tuple[str, list[EpisodeView]]:
    """A patient's episodes, newest first (the patient's own, or staff who may see them)."""
    patient = await uow.guarded(
        get_visible_patient(uow.session, uow.actor, patient_id),
        "care.episode.list",
        "patient",
        str(patient_id),
    )
    episodes = (
        await uow.session.scalars(
            select(CareEpisode)
            .where(CareEpisode.patient_id == patient.id)
            .order_by(CareEpisode.opened_at.desc())
        )
    ).all()
    uow.audit(AuditRecord("care.episode.list", "care_episode", patient_id=patient.id))
    return patient.display_name, await _views(uow, catalog, episodes)


async def caseload_in(uow: UnitOfWork, catalog: Catalog) -> list[EpisodeView]:
    """The acting therapist's active episodes (an admin's: every therapist's), the ones needing
    something soonest first."""
    actor = uow.actor
    if actor.is_patient:
        raise PermissionDenied("Only clinic staff can see a caseload.")
    visible = patients_visible_to(actor).subquery()
    query = (
        select(CareEpisode)
        .join(visible, visible.c.id == CareEpisode.patient_id)
        .where(~select(CareDischarge.id).where(CareDischarge.episode_id == CareEpisode.id).exists())
        .order_by(CareEpisode.opened_at)
    )
    if actor.is_therapist:
        query = query.where(CareEpisode.therapist_id == actor.id)
    episodes = (await uow.session.scalars(query)).all()
    for patient_id in {e.patient_id for e in episodes}:
        uow.audit(AuditRecord("care.caseload", "care_episode", patient_id=patient_id))
    views = await _views(uow, catalog, episodes)
    # What needs doing first, then whoever is seen soonest.
    views.sort(
        key=lambda v: (
            -len(v.alerts),
            v.next_visit is None,
            v.next_visit.timestamp() if v.next_visit else 0.0,
            v.patient_name.lower(),
        )
    )
    return views


# --- writing -------------------------------------------------------------------------------------


def plannable_techniques(catalog: Catalog) -> dict[str, str]:
    """The techniques a plan can prescribe, by id, with their names: the treatments, not the
    evaluations that lead to a plan."""
    evaluations = EVALUATION_CPTS | {RE_EVALUATION_CPT}
    return {
        t.id: t.name
        for t in sorted(catalog.techniques.values(), key=lambda t: (t.cpt, t.name))
        if t.cpt not in evaluations
    }


def _require_clinician(uow: UnitOfWork) -> None:
    if not uow.actor.is_therapist:
        raise PermissionDenied("Only a therapist can write a plan of care.")


async def open_episode_in(uow: UnitOfWork, patient_id: uuid.UUID, title: str) -> uuid.UUID:
    """A therapist opens an episode of care for one of their patients; they lead it."""
    _require_clinician(uow)
    patient = await uow.guarded(
        get_visible_patient(uow.session, uow.actor, patient_id),
        "care.episode.open",
        "patient",
        str(patient_id),
    )
    words = " ".join(title.split())
    if not words or len(words) > MAX_TITLE:
        raise InvalidInput(
            f"Name the problem this episode treats, in at most {MAX_TITLE} characters.",
            details={"problems": {"title": "Name the problem, e.g. Right hip pain."}},
        )
    episode = CareEpisode(
        patient_id=patient.id,
        therapist_id=uow.actor.id,
        title=words,
        opened_at=uow.now,
        opened_by=uow.actor.id,
    )
    uow.session.add(episode)
    await uow.session.flush()
    _audit(uow, "care.episode.open", episode)
    return episode.id


async def _open_episode(uow: UnitOfWork, episode_id: uuid.UUID, action: str) -> CareEpisode:
    _require_clinician(uow)
    episode = await _visible_episode(uow, episode_id, action)
    closed = await uow.session.scalar(
        select(CareDischarge.id).where(CareDischarge.episode_id == episode.id)
    )
    if closed is not None:
        raise Conflict(
            "This episode has been discharged; open a new episode to treat the patient again.",
            code=ErrorCode.CONFLICT,
        )
    return episode


def carry_goal_ids(
    previous: Sequence[Goal], submitted: Sequence[Goal], new_id: Iterable[str]
) -> tuple[Goal, ...]:
    """Goals keep their identity across versions: a submitted goal naming an earlier goal's id
    is that goal; a goal without one is new and gets a new id. An id the plan never had is
    refused (a forged or stale form)."""
    known = {g.id for g in previous}
    fresh = iter(new_id)
    carried = []
    for goal in submitted:
        if goal.id and goal.id not in known:
            words = "A goal on the form is not one of this plan's goals. Reload the page."
            raise InvalidInput(words, details={"problems": {"goals": words}})
        carried.append(goal if goal.id else replace(goal, id=next(fresh)))
    return tuple(carried)


async def write_plan_in(
    uow: UnitOfWork,
    catalog: Catalog,
    episode_id: uuid.UUID,
    draft: PlanDraft,
    *,
    based_on: int,
    change_reason: str = "",
) -> int:
    """Store the next version of an episode's plan. `based_on` is the version the form showed
    (0 for the first): when someone revised it meanwhile, nothing is stored and the writer is
    told to look again."""
    episode = await _open_episode(uow, episode_id, "care.plan.write")
    current = await uow.session.scalar(
        select(CarePlanVersion)
        .where(CarePlanVersion.episode_id == episode.id)
        .order_by(CarePlanVersion.version.desc())
        .limit(1)
    )
    current_version = current.version if current is not None else 0
    if based_on != current_version:
        raise Conflict(
            "Someone revised this plan while you were writing. Open it again to see their "
            "version, then make your change.",
            code=ErrorCode.STALE_VERSION,
        )
    previous = tuple(Goal.from_data(g) for g in current.goals) if current is not None else ()
    goals = carry_goal_ids(previous, draft.goals, (str(uuid.uuid4()) for _ in range(100)))
    draft = replace(draft, goals=goals)
    problems = rules.plan_problems(
        draft,
        known_diagnosis=catalog.codes.is_billable,
        known_intervention=lambda t: t in plannable_techniques(catalog),
    )
    if current is not None and not change_reason.strip():
        problems["change_reason"] = "Say what changed and why (it stays with this version)."
    if problems:
        raise InvalidInput("Please correct the plan.", details={"problems": problems})
    row = plan_row(
        episode.id,
        current_version + 1,
        draft,
        uow.actor.id,
        uow.now,
        " ".join(change_reason.split())[:500],
    )
    try:
        async with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:
        raise Conflict(
            "Someone revised this plan a moment ago. Open it again to see their version.",
            code=ErrorCode.STALE_VERSION,
        ) from None
    _audit(uow, "care.plan.write", episode, version=row.version)
    return row.version


def plan_row(
    episode_id: uuid.UUID,
    version: int,
    draft: PlanDraft,
    written_by: uuid.UUID,
    written_at: datetime,
    change_reason: str = "",
) -> CarePlanVersion:
    """A plan version as stored; without a certified end, the longest the rules allow."""
    return CarePlanVersion(
        episode_id=episode_id,
        version=version,
        written_by=written_by,
        written_at=written_at,
        start_date=draft.start_date,
        cert_end=draft.cert_end or rules.certification_end(draft),
        frequency_per_week=draft.frequency_per_week,
        duration_weeks=draft.duration_weeks,
        duration_visits=draft.duration_visits,
        amount_per_day=draft.amount_per_day,
        diagnoses=list(draft.diagnoses),
        interventions=list(draft.interventions),
        modalities=list(draft.modalities),
        goals=[g.as_data() for g in draft.goals],
        change_reason=change_reason,
    )


async def record_certification_in(
    uow: UnitOfWork,
    episode_id: uuid.UUID,
    kind: CertificationKind,
    on_date: date,
    practitioner: str,
) -> None:
    """Record a certification step of the plan in force (sent, signed, verbal order, order on
    file)."""
    episode = await _open_episode(uow, episode_id, "care.plan.certify")
    plan = await uow.session.scalar(
        select(CarePlanVersion)
        .where(CarePlanVersion.episode_id == episode.id)
        .order_by(CarePlanVersion.version.desc())
        .limit(1)
    )
    if plan is None:
        raise Conflict("Write the plan of care before recording its certification.")
    today = uow.now.astimezone(ZoneInfo(uow.actor.time_zone)).date()
    if on_date > today:
        words = "A certification step cannot be dated in the future: give today or earlier."
        raise InvalidInput(words, details={"problems": {"on_date": words}})
    uow.session.add(
        CareCertification(
            plan_id=plan.id,
            kind=kind.value,
            on_date=on_date,
            practitioner=" ".join(practitioner.split())[:120],
            recorded_by=uow.actor.id,
            recorded_at=uow.now,
        )
    )
    _audit(uow, "care.plan.certify", episode, version=plan.version, kind=kind.value)


async def link_visit_in(uow: UnitOfWork, episode_id: uuid.UUID, appointment_id: uuid.UUID) -> None:
    """Count one of the patient's visits in this episode (when two open episodes leave it
    unplaced, or it was placed in the wrong one)."""
    episode = await _open_episode(uow, episode_id, "care.episode.link_visit")
    appointment = await uow.session.get(Appointment, appointment_id)
    if appointment is None or appointment.patient_id != episode.patient_id:
        raise NotFound("No such visit of this patient.")
    uow.session.add(
        CareEpisodeVisit(
            appointment_id=appointment.id,
            episode_id=episode.id,
            linked_by=uow.actor.id,
            linked_at=uow.now,
        )
    )
    _audit(uow, "care.episode.link_visit", episode, appointment_id=str(appointment.id))


async def discharge_in(
    uow: UnitOfWork,
    episode_id: uuid.UUID,
    goal_outcomes: Mapping[str, GoalStatus],
    summary: str,
    keep_doing: str,
) -> None:
    """Close an episode with its discharge note: how each goal ended, a summary, and what the
    patient keeps doing. Pressed twice (or by two people), the first discharge stands."""
    episode = await _open_episode(uow, episode_id, "care.episode.discharge")
    plan = await uow.session.scalar(
        select(CarePlanVersion)
        .where(CarePlanVersion.episode_id == episode.id)
        .order_by(CarePlanVersion.version.desc())
        .limit(1)
    )
    goal_ids = {g["id"] for g in plan.goals} if plan is not None else set()
    problems: dict[str, str] = {}
    if set(goal_outcomes) != goal_ids:
        problems["goals"] = "Say how each goal ended."
    elif any(status is GoalStatus.IN_PROGRESS for status in goal_outcomes.values()):
        problems["goals"] = "At discharge each goal is met, partly met, not met or discontinued."
    if not summary.strip():
        problems["summary"] = "Summarise the course of care for the record."
    if len(summary) > 4000 or len(keep_doing) > 2000:
        problems["summary"] = "Keep the summary under 4,000 characters."
    if problems:
        raise InvalidInput("Please complete the discharge.", details={"problems": problems})
    try:
        async with uow.session.begin_nested():
            uow.session.add(
                CareDischarge(
                    episode_id=episode.id,
                    discharged_by=uow.actor.id,
                    discharged_at=uow.now,
                    goal_outcomes={k: v.value for k, v in goal_outcomes.items()},
                    summary=summary.strip(),
                    keep_doing=keep_doing.strip(),
                )
            )
    except IntegrityError:
        return  # discharged a moment ago by someone else: their discharge stands
    _audit(uow, "care.episode.discharge", episode)


async def therapist_patients_in(uow: UnitOfWork) -> list[tuple[uuid.UUID, str]]:
    """The patients a therapist may open an episode for, by name."""
    _require_clinician(uow)
    rows = await uow.session.execute(
        patients_visible_to(uow.actor)
        .with_only_columns(User.id, User.display_name)
        .order_by(func.lower(User.display_name))
    )
    patients = [(row.id, row.display_name) for row in rows]
    uow.audit(AuditRecord("patient.list", "patient", details={"count": len(patients)}))
    return patients


async def progress_report_due_in(
    uow: UnitOfWork, catalog: Catalog, patient_id: uuid.UUID, appointment_id: uuid.UUID
) -> ProgressClock | None:
    """The progress clock of the episode a visit being documented counts in, when a daily note
    signed for it would add the treatment day the report was due by; None when it would not."""
    episodes = (
        await uow.session.scalars(
            select(CareEpisode).where(
                CareEpisode.patient_id == patient_id,
                ~select(CareDischarge.id)
                .where(CareDischarge.episode_id == CareEpisode.id)
                .exists(),
            )
        )
    ).all()
    for view in await _views(uow, catalog, episodes):
        if appointment_id not in view.unsigned or not view.progress.blocks_daily_notes:
            continue
        appointment = await uow.session.get(Appointment, appointment_id)
        assert appointment is not None
        zone = ZoneInfo(uow.actor.time_zone)
        day = appointment.start_at.astimezone(zone).date()
        if day not in view.progress.days:
            return view.progress
    return None
