"""Every REST resource the server offers, over the one store the command line uses, and the
running parts (registrations, calls, live media) the call resources drive."""

import sqlite3
from dataclasses import dataclass

from mediaserver.api.rest.resources.applications import ApplicationResource
from mediaserver.api.rest.resources.call_details import CallDetailResource
from mediaserver.api.rest.resources.calls import CallResource
from mediaserver.api.rest.resources.carriers import (
    IncomingCarrierResource,
    OutgoingCarrierResource,
    carrier_routes,
)
from mediaserver.api.rest.resources.conferences import ConferenceResource
from mediaserver.api.rest.resources.endpoints import EndpointResource
from mediaserver.api.rest.resources.live_calls import LiveCallResource
from mediaserver.api.rest.resources.numbers import NumberResource
from mediaserver.api.rest.resources.recordings import RecordingResource
from mediaserver.api.rest.resources.subaccounts import SubaccountResource
from mediaserver.api.rest.route import Route
from mediaserver.calls.call_service import CallService
from mediaserver.calls.registrar import Registrar
from mediaserver.clock import Clock
from mediaserver.plivoxml.application_calls import ApplicationCalls
from mediaserver.plivoxml.call_requests import CallRequests
from mediaserver.plivoxml.live_media import LiveMedia
from mediaserver.store.applications import SqliteApplications
from mediaserver.store.call_records import SqliteCallRecords
from mediaserver.store.endpoints import SqliteEndpoints
from mediaserver.store.numbers import SqliteNumbers
from mediaserver.store.sqlite_carriers import SqliteCarriers
from mediaserver.store.subaccounts import SqliteSubaccounts


@dataclass(frozen=True, slots=True)
class RestParts:
    """The running parts the REST resources read and drive (registrations, calls, media)."""

    registrar: Registrar
    calls: CallService
    requests: CallRequests
    applications: ApplicationCalls
    live_media: LiveMedia


def every_route(
    domain: str, clock: Clock, database: sqlite3.Connection, parts: RestParts
) -> list[Route]:
    carriers = SqliteCarriers(database)
    records = SqliteCallRecords(database)
    applications = parts.applications
    return [
        *ApplicationResource(SqliteApplications(database), domain).routes(),
        *EndpointResource(SqliteEndpoints(database), parts.registrar, clock, domain).routes(),
        *NumberResource(SqliteNumbers(database), clock).routes(),
        *carrier_routes(IncomingCarrierResource(carriers)),
        *carrier_routes(OutgoingCarrierResource(carriers)),
        *RecordingResource(applications.archive).routes(),
        *SubaccountResource(SqliteSubaccounts(database), clock).routes(),
        *CallResource(
            parts.calls,
            parts.requests,
            applications.debug_log,
            records,
            lambda sub_account: applications.services_for(sub_account).webhooks,
        ).routes(),
        *CallDetailResource(records, parts.calls, parts.requests).routes(),
        *LiveCallResource(parts.calls, parts.live_media).routes(),
        *_conference_routes(applications),
    ]


def _conference_routes(applications: ApplicationCalls) -> list[Route]:
    """Conference/, where calls have rooms and speech (a server with a media engine)."""
    services = applications.services
    if services.conferences is None or services.tts is None:
        return []
    return ConferenceResource(
        services.conferences, services.tts, services.sounds, services.recordings,
        services.webhooks,
    ).routes()  # fmt: skip
