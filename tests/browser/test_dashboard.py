"""The dashboard in a real browser: demo login, caseload, a young person's page and its
chart, acknowledging an alert, the referral queue, the decision audit, live alerts.

Every expectation is checked against what the GraphQL API answers for the same token, so
the page is tested as a faithful view of the API. A screenshot of each view is saved.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import DemoServer, screenshot

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
CHART_WEEKS = 26  # the chart's default period

CASELOAD = """
query ($id: ID!) { caseload(counsellorId: $id) { activeCount
  entries(first: 500) { entries { youngPersonId name openAlerts { id } } } } }
"""
TIMELINE = """
query ($id: ID!) { youngPerson(id: $id) { timeline(first: 1000) { occurredAt eventType }
  transitions { startedAt endedAt } } }
"""
ALERTS = """
query ($status: AlertStatus!) { alerts(status: $status, first: 500) {
  entries { id youngPersonId status acknowledgementNote } } }
"""


def log_in(page: Any, identity: str) -> None:
    page.goto("/")
    page.locator(f'button.identity[data-identity="{identity}"]').click()
    expect(page.get_by_role("button", name="Log ud")).to_be_visible()
    expect(page.locator("main h1")).not_to_have_text("Log ind")


def test_the_demo_login_lists_the_team_and_opens_a_sortable_caseload(
    page: Any, demo_server: DemoServer
) -> None:
    identities = httpx.get(f"{demo_server.base_url}/api/v1/demo/identities").json()["identities"]
    page.goto("/")

    expect(page.get_by_role("heading", name="Log ind")).to_be_visible()
    expect(page.locator("button.identity")).to_have_count(len(identities))
    roles = {identity["role"] for identity in identities}
    assert roles == {"counsellor", "team_lead", "auditor"}
    # The API's documentation and GraphiQL stay one click away.
    expect(page.get_by_role("link", name="REST-API og dokumentation (/docs)")).to_be_visible()
    expect(page.get_by_role("link", name="GraphQL og GraphiQL (/graphql)")).to_be_visible()
    screenshot(page, "01-demo-login")

    page.locator(f'button.identity[data-identity="{demo_server.counsellor_identity}"]').click()

    caseload = demo_server.graphql(
        demo_server.counsellor_identity, CASELOAD, id=str(demo_server.counsellor_id)
    )["caseload"]
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(caseload["activeCount"])
    # The most urgent first; the young person with an open alert shows it.
    urgencies = [float(u) for u in rows.evaluate_all("rs => rs.map(r => r.dataset.urgency)")]
    assert urgencies == sorted(urgencies, reverse=True)
    alerted = page.locator(f'tr[data-young-person-id="{demo_server.alerted_young_person_id}"]')
    expect(alerted.locator(".badge", has_text="Alarm")).to_be_visible()
    screenshot(page, "02-caseload")

    # Sorting by keyboard: the header is a button; Enter sorts, Enter again reverses.
    sort = page.get_by_role("button", name="Dage uden kontakt")
    header = page.locator("th", has=sort)
    sort.focus()
    page.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", "descending")
    assert_sorted(days_since_contact(rows), descending=True)
    page.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", "ascending")
    assert_sorted(days_since_contact(rows), descending=False)


def days_since_contact(rows: Any) -> list[int | None]:
    values = rows.evaluate_all("rs => rs.map(r => r.dataset.daysSinceContact)")
    return [int(value) if value else None for value in values]


def assert_sorted(values: list[int | None], descending: bool) -> None:
    known = [value for value in values if value is not None]
    assert known == sorted(known, reverse=descending)
    # Young people never reached yet go last, whichever the direction.
    assert values == known + [None] * (len(values) - len(known))


def test_a_young_persons_page_charts_contacts_per_week(page: Any, demo_server: DemoServer) -> None:
    identity = demo_server.counsellor_identity
    entries = demo_server.graphql(identity, CASELOAD, id=str(demo_server.counsellor_id))[
        "caseload"
    ]["entries"]["entries"]
    chosen = next(e for e in entries if not str(e["name"]).startswith("Test"))
    person = demo_server.graphql(identity, TIMELINE, id=chosen["youngPersonId"])["youngPerson"]
    log_in(page, identity)

    page.locator(f'tr[data-young-person-id="{chosen["youngPersonId"]}"] a').click()

    expect(page.get_by_role("heading", name=chosen["name"], level=1)).to_be_visible()
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    expected = expected_weeks(person["timeline"], datetime.now(COPENHAGEN))
    bars = chart.locator("g.week")
    expect(bars).to_have_count(len(expected))
    expect(chart.locator("rect.bar")).to_have_count(len(expected))
    starts = bars.evaluate_all("gs => gs.map(g => g.dataset.weekStart)")
    assert starts == [week.isoformat() for week in expected]
    contacts = bars.evaluate_all(
        "gs => gs.reduce((n, g) => n + Number(g.dataset.reached) + Number(g.dataset.attempts), 0)"
    )
    first = datetime.combine(expected[0], datetime.min.time(), COPENHAGEN)
    assert contacts == sum(
        1
        for entry in person["timeline"]
        if entry["eventType"] == "ContactRecorded"
        and datetime.fromisoformat(entry["occurredAt"]) >= first
    )
    # The text alternative: a table with a row per week.
    page.get_by_text("Vis tallene som tabel").click()
    expect(page.locator(".chart-table tbody tr")).to_have_count(len(expected))
    # Dates in Danish.
    expect(page.locator(".timeline time").first).to_have_text(
        danish_date_time(person["timeline"][-1]["occurredAt"])
    )
    screenshot(page, "03-young-person")


def expected_weeks(timeline: list[dict[str, Any]], now: datetime) -> list[date]:
    """Mondays from the week of the first fact (at most CHART_WEEKS back) to this week."""

    def monday(moment: datetime) -> date:
        day = moment.astimezone(COPENHAGEN).date()
        return day - timedelta(days=day.weekday())

    last = monday(now)
    first = min(monday(datetime.fromisoformat(entry["occurredAt"])) for entry in timeline)
    first = max(first, last - timedelta(weeks=CHART_WEEKS - 1))
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


MONTHS = (
    "jan.",
    "feb.",
    "mar.",
    "apr.",
    "maj",
    "jun.",
    "jul.",
    "aug.",
    "sep.",
    "okt.",
    "nov.",
    "dec.",
)


def danish_date_time(text: str) -> str:
    """As Intl.DateTimeFormat('da-DK') writes it: 26. nov. 2026, 08.16."""
    moment = datetime.fromisoformat(text).astimezone(COPENHAGEN)
    month = MONTHS[moment.month - 1]
    return f"{moment.day}. {month} {moment.year}, {moment:%H.%M}"


DECISIONS = """
query ($id: ID!) { caseload(counsellorId: $id) { entries(first: 100) { entries {
  youngPersonId youngPerson { name decisions { decisionId complete checks { passed } } } } } } }
"""


def test_a_direct_link_shows_the_name_and_the_decisions_the_api_answers(
    page: Any, demo_server: DemoServer
) -> None:
    identity = demo_server.counsellor_identity
    entries = demo_server.graphql(identity, DECISIONS, id=str(demo_server.counsellor_id))[
        "caseload"
    ]["entries"]["entries"]
    chosen = max(entries, key=lambda entry: len(entry["youngPerson"]["decisions"]))
    decisions = chosen["youngPerson"]["decisions"]
    assert decisions, "the demo made no decision about the counsellor's young people"
    log_in(page, identity)

    # Opened by a link, not from the caseload: the name comes from the young person's read.
    page.goto(f"/#/person/{chosen['youngPersonId']}")
    page.reload()

    expect(page.get_by_role("heading", name=chosen["youngPerson"]["name"], level=1)).to_be_visible()
    table = page.get_by_role("table", name="Myndighedsafgørelser")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(len(decisions))
    shown = rows.evaluate_all("rs => rs.map(r => r.dataset.decisionId)")
    assert shown == [decision["decisionId"] for decision in decisions]  # newest first
    headers = table.locator("thead th").all_inner_texts()
    assert headers == ["Afgjort", "Afgørelse", "Fuldstændighed", "Klage og forløb"]
    for row, decision in zip(rows.all(), decisions, strict=True):
        failed = sum(1 for check in decision["checks"] if check["passed"] is False)
        expect(row.locator(".checks li")).to_have_count(failed)
    page.locator("#person-decisions").scroll_into_view_if_needed()
    screenshot(page, "03b-young-person-decisions")


def test_acknowledging_an_alert(page: Any, demo_server: DemoServer) -> None:
    identity = demo_server.counsellor_identity
    person = demo_server.alerted_young_person_id
    log_in(page, identity)
    page.goto(f"/#/person/{person}")

    item = page.locator(".alert-item").first
    expect(item).to_have_attribute("data-status", "OPEN")
    item.get_by_label("Hvad gør du?").fill("Ringer i morgen kl. 9")
    item.get_by_label("Hvad gør du?").press("Enter")

    acknowledged = page.locator('.alert-item[data-status="ACKNOWLEDGED"]')
    expect(acknowledged).to_contain_text("Ringer i morgen kl. 9")
    expect(acknowledged).to_contain_text("Kvitteret")
    expect(page.locator("#announcer")).to_have_text("Alarmen er kvitteret.")
    alerts = demo_server.graphql(identity, ALERTS, status="ACKNOWLEDGED")["alerts"]["entries"]
    [alert] = [a for a in alerts if a["youngPersonId"] == str(person)]
    assert alert["acknowledgementNote"] == "Ringer i morgen kl. 9"
    assert acknowledged.get_attribute("data-alert-id") == alert["id"]
    screenshot(page, "04-alert-acknowledged")


REFERRALS = "{ referralQueue(first: 200) { total entries { youngPersonId } } }"


def test_the_referral_queue(page: Any, demo_server: DemoServer) -> None:
    identity = demo_server.counsellor_identity
    queue = demo_server.graphql(identity, REFERRALS)["referralQueue"]
    log_in(page, identity)

    page.get_by_role("link", name="Henvisninger").click()

    expect(page.get_by_role("heading", name="Henvisninger", level=1)).to_be_visible()
    assert queue["total"] >= 1
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(len(queue["entries"]))
    shown = rows.evaluate_all("rs => rs.map(r => r.dataset.youngPersonId)")
    assert shown == [entry["youngPersonId"] for entry in queue["entries"]]  # oldest first
    screenshot(page, "05-referral-queue")


AUDIT = "{ decisionAudit(first: 100) { total entries { decisionId } } }"


def test_an_auditor_sees_the_decision_audit_only(page: Any, demo_server: DemoServer) -> None:
    audit = demo_server.graphql("auditor:demo-auditor", AUDIT)["decisionAudit"]
    log_in(page, "auditor:demo-auditor")

    expect(page.get_by_role("heading", name="Afgørelsesrevision", level=1)).to_be_visible()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(len(audit["entries"]))
    expect(page.locator(".summary")).to_contain_text(f"{audit['total']} afgørelser")
    nav = page.get_by_role("navigation", name="Hovedmenu").get_by_role("link")
    expect(nav).to_have_text(["Afgørelsesrevision"])
    screenshot(page, "06-decision-audit")

    # A caseload is not the auditor's to read: the page leads back to the audit.
    page.goto("/#/caseload")
    expect(page).to_have_url(f"{demo_server.base_url}/#/audit")


def test_an_alert_arrives_live(page: Any, demo_server: DemoServer) -> None:
    log_in(page, demo_server.counsellor_identity)
    page.get_by_role("link", name="Alarmer").click()
    expect(page.get_by_role("heading", name="Alarmer", level=1)).to_be_visible()
    # Subscribed: from now on an alert raised reaches the page.
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    person, transition = demo_server.quiet_young_person("Test Live")

    alert_id = demo_server.raise_alert(person, transition)

    arrival = page.locator(f'.arrival[data-alert-id="{alert_id}"]')
    expect(arrival).to_contain_text("Ny alarm")
    expect(page.locator(f'#alert-list li[data-alert-id="{alert_id}"]')).to_be_visible()
    expect(page.locator("#announcer")).to_contain_text("Ny alarm")
    screenshot(page, "07-live-alert")


def test_a_team_lead_sees_every_caseload_of_the_team(page: Any, demo_server: DemoServer) -> None:
    identities = httpx.get(f"{demo_server.base_url}/api/v1/demo/identities").json()["identities"]
    lead = next(identity for identity in identities if identity["role"] == "team_lead")
    log_in(page, lead["id"])

    members = page.locator(".team-list a.team-member")
    staff = [i for i in identities if i["team"] == lead["team"]]
    expect(members).to_have_count(len(staff))
    members.filter(
        has_text=next(i for i in staff if i["role"] == "counsellor")["display_name"]
    ).click()
    expect(page).to_have_url(f"{demo_server.base_url}/#/caseload/{demo_server.counsellor_id}")
    expect(page.locator("table.data tbody tr").first).to_be_visible()
    screenshot(page, "08-team-lead")


def test_a_refusal_reads_as_such(page: Any, demo_server: DemoServer) -> None:
    log_in(page, demo_server.counsellor_identity)
    expect(page.locator("table.data")).to_be_visible()

    # Unknown, or another team's: the API refuses both alike (forbidden).
    page.goto(f"/#/person/{uuid4()}")

    expect(page.get_by_role("alert")).to_contain_text("Du har ikke adgang")


def test_the_alerted_young_person_is_the_counsellors(demo_server: DemoServer) -> None:
    """The fixture's own promise, so the tests above fail for the right reason."""
    entries = demo_server.graphql(
        demo_server.counsellor_identity, CASELOAD, id=str(demo_server.counsellor_id)
    )["caseload"]["entries"]["entries"]
    ids = {UUID(entry["youngPersonId"]) for entry in entries}
    assert demo_server.alerted_young_person_id in ids


def test_a_refused_token_leads_back_to_the_login_saying_why(
    page: Any, demo_server: DemoServer
) -> None:
    page.goto("/")
    expect(page.locator("button.identity").first).to_be_visible()
    # A session whose token the server does not accept (a wrong signature).
    stale = {
        "token": demo_server.token(demo_server.counsellor_identity)[:-4] + "AAAA",
        "role": "counsellor",
        "sub": str(demo_server.counsellor_id),
        "team": demo_server.team,
        "counsellorId": str(demo_server.counsellor_id),
        "displayName": "Test",
        "expiresAt": None,
    }
    page.evaluate("s => sessionStorage.setItem('overgang.session', JSON.stringify(s))", stale)

    page.goto("/#/referrals")
    page.reload()

    expect(page.get_by_role("heading", name="Log ind")).to_be_visible()
    expect(page.locator(".notice")).to_contain_text("Log ind igen")
