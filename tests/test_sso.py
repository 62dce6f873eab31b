"""SSO sign-in (OpenID Connect through Authlib) against a real oidc-provider-mock on 127.0.0.1
(SECURITY.md 18): state, nonce and PKCE; exact issuer and audience; people matched by (issuer, subject)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import KeySet
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console import unit_of_work
from console.auth.web import COOKIE_NAME
from console.config import Settings
from console.identity_routes import SSO_CALLBACK_PATH, SSO_COOKIE, SSO_START_PATH, identity_router
from console.services import accounts, sso_secrets
from console.services.identity import oidc
from models import AuditLogEntry, OrgMembership, SsoIdentity, User
from models.enums import MembershipRole, UserRole
from tests.factories import PASSWORD, make_org, make_user
from tests.oidc_provider import oidc_provider  # noqa: F401  (the fixture)

CLIENT_ID = "simvado-console-test"
CLIENT_SECRET = "s3cret-from-the-provider"


@pytest.fixture
def acme(database_url, oidc_provider):  # noqa: F811
    with unit_of_work.transaction() as s:
        org = make_org(
            s,
            name="Acme",
            seat_limit=2,
            sso_enabled=True,
            sso_provider="oidc",
            sso_issuer_url=oidc_provider.issuer,
            sso_client_id=CLIENT_ID,
            sso_client_secret_encrypted=sso_secrets.encrypt(CLIENT_SECRET),
            sso_email_domains=["acme.example"],
        )
    return org


@pytest.fixture
def client(database_url):
    app = FastAPI()
    app.include_router(identity_router(Settings(public_url="http://testserver")))
    with TestClient(app, follow_redirects=False) as c:
        yield c


def start(client: TestClient, email: str = "ana@acme.example", next_: str = "/my") -> httpx.Response:
    return client.get(f"{SSO_START_PATH}?{urlencode({'email': email, 'next': next_})}")


def come_back(client: TestClient, answer: dict[str, str]) -> httpx.Response:
    return client.get(f"{SSO_CALLBACK_PATH}?{urlencode(answer)}")


def login_error(response: httpx.Response) -> str | None:
    assert response.status_code == 303
    location = response.headers["location"]
    if not location.startswith("/login"):
        return None
    return parse_qs(urlsplit(location).query)["error"][0]


def sign_in(
    client, provider, *, sub: str, email: str, name: str = "Ana Lee", next_: str = "/my", typed: str | None = None
) -> httpx.Response:
    """The whole flow: the email typed on the login page (`typed`, else `email`), the provider's form
    submitted as `sub` whose claims say `email`, and the browser's return to the callback."""
    provider.set_user(sub, email=email, email_verified=True, name=name)
    started = start(client, typed or email, next_)
    assert started.status_code == 303, started.text
    return come_back(client, provider.authorize(started.headers["location"], sub=sub))


def signed_in_actor(response: httpx.Response):
    token = response.cookies.get(COOKIE_NAME)
    assert token, "no login cookie"
    with unit_of_work.read_only() as s:
        return accounts.actor_for_token(session=s, token=token)


def count(model, *where) -> int:  # noqa: ANN001
    with unit_of_work.read_only() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------------------------------- happy path


def test_start_sends_the_browser_to_the_provider_with_state_nonce_and_pkce(client, acme, oidc_provider):  # noqa: F811
    started = start(client)
    assert started.status_code == 303
    url = urlsplit(started.headers["location"])
    assert f"{url.scheme}://{url.netloc}" == oidc_provider.issuer
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"http://testserver{SSO_CALLBACK_PATH}"
    assert query["response_type"] == "code" and "openid" in query["scope"].split()
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert query["login_hint"] == "ana@acme.example"
    cookie = started.headers["set-cookie"]
    assert f"{SSO_COOKIE}=" in cookie and "HttpOnly" in cookie and "Path=/auth/sso" in cookie
    assert "SameSite=lax" in cookie
    # Nothing secret in the browser's view of the cookie: it is encrypted, not just signed.
    assert query["state"] not in cookie and query["nonce"] not in cookie and CLIENT_SECRET not in cookie


def test_first_sign_in_joins_the_organization_as_a_participant_and_signs_in(client, acme, oidc_provider, caplog):  # noqa: F811
    caplog.set_level("DEBUG")
    done = sign_in(client, oidc_provider, sub="ana-1", email="Ana@acme.example", next_="/my?tab=results")
    assert done.status_code == 303 and done.headers["location"] == "/my?tab=results"
    assert done.headers["cache-control"] == "no-store" and done.headers["referrer-policy"] == "no-referrer"
    cookie = done.headers.get_list("set-cookie")
    assert any(c.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in c and "SameSite=lax" in c for c in cookie)
    assert any(c.startswith(f'{SSO_COOKIE}=""') or c.startswith(f"{SSO_COOKIE}=;") for c in cookie)  # used once
    actor = signed_in_actor(done)
    assert actor is not None
    assert (actor.email, actor.name, actor.role, actor.organization_id) == (
        "ana@acme.example",
        "Ana Lee",
        UserRole.enterprise_participant,
        acme.id,
    )
    assert (
        count(OrgMembership, OrgMembership.user_id == actor.id, OrgMembership.role == MembershipRole.participant) == 1
    )
    with unit_of_work.read_only() as s:
        identity = s.scalar(select(SsoIdentity).where(SsoIdentity.user_id == actor.id))
        actions = s.scalars(select(AuditLogEntry.action).where(AuditLogEntry.organization_id == acme.id)).all()
        logins = s.execute(select(func.count()).select_from(User)).scalar()
    assert (identity.issuer, identity.subject) == (oidc_provider.issuer, "ana-1")
    assert sorted(actions) == ["membership.add", "user.create"]
    # The client secret never reaches a log line or the audit log.
    assert CLIENT_SECRET not in caplog.text
    with unit_of_work.read_only() as s:
        entries = s.scalars(select(AuditLogEntry)).all()
    assert all(CLIENT_SECRET not in str((e.before, e.after, e.comment)) for e in entries)
    assert logins == 1


def test_the_next_sign_in_finds_the_same_person_by_issuer_and_subject(client, acme, oidc_provider):  # noqa: F811
    first = signed_in_actor(sign_in(client, oidc_provider, sub="ben-1", email="ben@acme.example", name="Ben"))
    # The provider now says another email and name: the person is still found by (issuer, subject).
    again = signed_in_actor(sign_in(client, oidc_provider, sub="ben-1", email="benjamin@acme.example", name="B."))
    assert again.id == first.id
    assert count(User) == 1 and count(OrgMembership) == 1


def test_the_same_email_from_another_subject_is_not_that_person(client, acme, oidc_provider):  # noqa: F811
    sign_in(client, oidc_provider, sub="cam-1", email="cam@acme.example")
    other = sign_in(client, oidc_provider, sub="cam-2", email="cam@acme.example")
    assert login_error(other) == "sso_account_exists"
    assert COOKIE_NAME not in other.cookies
    assert count(User) == 1


# ------------------------------------------------------------------------------- refused, with a message


def test_an_existing_account_with_the_email_but_no_link_is_not_signed_in(client, acme, oidc_provider):  # noqa: F811
    with unit_of_work.transaction() as s:
        make_user(s, email="dana@acme.example", role=UserRole.enterprise_participant, organization_id=acme.id)
    answer = sign_in(client, oidc_provider, sub="dana-at-idp", email="dana@acme.example")
    assert login_error(answer) == "sso_account_exists"
    assert COOKIE_NAME not in answer.cookies
    assert count(SsoIdentity) == 0


def test_no_free_seat_refuses_the_first_sign_in(client, acme, oidc_provider):  # noqa: F811
    with unit_of_work.transaction() as s:
        for _ in range(2):  # the seat limit is 2
            make_user(s, role=UserRole.enterprise_participant, organization_id=acme.id, password=None)
            s.add(
                OrgMembership(
                    user_id=s.scalars(select(User.id).order_by(User.created_at.desc())).first(),
                    organization_id=acme.id,
                    role=MembershipRole.participant,
                )
            )
    answer = sign_in(client, oidc_provider, sub="eve-1", email="eve@acme.example")
    assert login_error(answer) == "sso_seats"
    assert count(User, func.lower(User.email) == "eve@acme.example") == 0 and count(SsoIdentity) == 0


def test_denied_at_the_provider_ends_on_the_login_page(client, acme, oidc_provider):  # noqa: F811
    started = start(client)
    answer = come_back(client, oidc_provider.authorize(started.headers["location"], deny=True))
    assert login_error(answer) == "sso_denied"
    assert count(User) == 0


def test_a_tampered_state_is_refused(client, acme, oidc_provider):  # noqa: F811
    oidc_provider.set_user("fay-1", email="fay@acme.example")
    back = oidc_provider.authorize(start(client).headers["location"], sub="fay-1")
    answer = come_back(client, {**back, "state": back["state"][:-2] + "xx"})
    assert login_error(answer) == "sso_state"
    assert count(User) == 0


def test_a_callback_without_the_browsers_sign_in_cookie_is_refused(client, acme, oidc_provider):  # noqa: F811
    oidc_provider.set_user("gil-1", email="gil@acme.example")
    back = oidc_provider.authorize(start(client).headers["location"], sub="gil-1")
    client.cookies.clear()  # another browser (login CSRF) or an expired sign-in
    assert login_error(come_back(client, back)) == "sso_expired"
    assert count(User) == 0


def test_a_replayed_code_is_refused(client, acme, oidc_provider):  # noqa: F811
    oidc_provider.set_user("hal-1", email="hal@acme.example")
    back = oidc_provider.authorize(start(client).headers["location"], sub="hal-1")
    assert login_error(come_back(client, back)) is None  # signed in once
    second = parse_qs(urlsplit(start(client).headers["location"]).query)["state"][0]
    assert login_error(come_back(client, {**back, "state": second})) == "sso_code"


def test_an_id_token_for_another_sign_in_nonce_is_refused(client, acme, oidc_provider):  # noqa: F811
    oidc_provider.set_user("ida-1", email="ida@acme.example")
    first = oidc_provider.authorize(start(client).headers["location"], sub="ida-1")  # its token has nonce 1
    second = parse_qs(urlsplit(start(client).headers["location"]).query)["state"][0]  # this browser: nonce 2
    answer = come_back(client, {"code": first["code"], "state": second})
    assert login_error(answer) == "sso_token"
    assert count(User) == 0


def test_an_issuer_that_differs_from_the_providers_by_a_slash_is_refused(client, acme, oidc_provider):  # noqa: F811
    with unit_of_work.transaction() as s:
        org = s.merge(acme)
        org.sso_issuer_url = oidc_provider.issuer + "/"
    assert login_error(start(client)) == "sso_provider"


@pytest.mark.parametrize("email", ["nobody@elsewhere.example", "not-an-email", ""])
def test_an_email_whose_domain_has_no_sso_ends_on_the_login_page(client, acme, email):
    assert login_error(start(client, email)) in ("sso_unknown_domain", "sso_email")


def test_an_unreachable_provider_ends_on_the_login_page(client, acme):
    with unit_of_work.transaction() as s:
        s.merge(acme).sso_issuer_url = "http://127.0.0.1:9"  # nothing listens there
    assert login_error(start(client)) == "sso_provider"


def test_a_person_outside_the_organizations_domains_does_not_join(client, acme, oidc_provider):  # noqa: F811
    answer = sign_in(client, oidc_provider, sub="ivan-1", email="ivan@gmail.example", typed="ivan@acme.example")
    assert login_error(answer) == "sso_email_domain"


def test_an_email_the_provider_says_is_unverified_does_not_join(client, acme, oidc_provider):  # noqa: F811
    oidc_provider.set_user("jo-1", email="jo@acme.example", email_verified=False)
    back = oidc_provider.authorize(start(client, "jo@acme.example").headers["location"], sub="jo-1")
    assert login_error(come_back(client, back)) == "sso_email_unverified"
    assert count(User) == 0


# ---------------------------------------------------------------------- the ID token, checked exactly


@pytest.fixture
def real_id_token(oidc_provider):  # noqa: F811
    """An ID token the provider really issued for nonce "n-1", and its keys."""
    oidc_provider.set_user("tok-1", email="tok@acme.example")
    query = urlencode(
        {
            "client_id": CLIENT_ID,
            "redirect_uri": "http://testserver/cb",
            "response_type": "code",
            "scope": "openid email",
            "state": "s",
            "nonce": "n-1",
        }
    )
    back = oidc_provider.authorize(f"{oidc_provider.issuer}/oauth2/authorize?{query}", sub="tok-1")
    token = httpx.post(
        f"{oidc_provider.issuer}/oauth2/token",
        data={"grant_type": "authorization_code", "code": back["code"], "redirect_uri": "http://testserver/cb"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    ).json()
    keys = KeySet.import_key_set(httpx.get(f"{oidc_provider.issuer}/jwks").json())
    return token["id_token"], keys


def test_the_real_id_token_verifies_with_the_right_issuer_audience_and_nonce(real_id_token, oidc_provider):  # noqa: F811
    id_token, keys = real_id_token
    proof = oidc.verify_id_token(id_token, keys=keys, issuer=oidc_provider.issuer, client_id=CLIENT_ID, nonce="n-1")
    assert (proof.subject, proof.email) == ("tok-1", "tok@acme.example")


@pytest.mark.parametrize(
    "wrong",
    [
        {"client_id": "another-client"},  # audience
        {"issuer": "http://127.0.0.1:1"},  # issuer
        {"nonce": "n-2"},  # nonce
    ],
    ids=["audience", "issuer", "nonce"],
)
def test_the_real_id_token_is_refused_for_another_audience_issuer_or_nonce(real_id_token, oidc_provider, wrong):  # noqa: F811
    id_token, keys = real_id_token
    expected = {"issuer": oidc_provider.issuer, "client_id": CLIENT_ID, "nonce": "n-1", **wrong}
    with pytest.raises(oidc.OidcError) as refused:
        oidc.verify_id_token(id_token, keys=keys, **expected)
    assert refused.value.reason == "token"


def test_a_tampered_id_token_is_refused(real_id_token, oidc_provider):  # noqa: F811
    id_token, keys = real_id_token
    header, payload, signature = id_token.split(".")
    forged = f"{header}.{payload[:-4]}AAAA.{signature}"
    with pytest.raises(oidc.OidcError):
        oidc.verify_id_token(forged, keys=keys, issuer=oidc_provider.issuer, client_id=CLIENT_ID, nonce="n-1")


# ------------------------------------------------------------------------------------- SSO required


def test_sso_required_refuses_the_members_password_but_not_others(database_url):
    with unit_of_work.transaction() as s:
        org = make_org(s, sso_enabled=True, sso_required=True, sso_email_domains=["req.example"])
        member = make_user(s, role=UserRole.enterprise_participant, organization_id=org.id)
        outsider = make_user(s, role=UserRole.studio_creator)
    throttle = accounts.LoginThrottle(5, 900)
    with unit_of_work.transaction() as s:
        refused = accounts.authenticate(session=s, email=member.email, password=PASSWORD, throttle=throttle)
        wrong = accounts.authenticate(session=s, email=member.email, password="wrong password", throttle=throttle)
        fine = accounts.authenticate(session=s, email=outsider.email, password=PASSWORD, throttle=throttle)
    assert (refused.user, refused.error) == (None, accounts.SSO_REQUIRED)
    assert wrong.error == accounts.INVALID_LOGIN  # a wrong password learns nothing about SSO
    assert fine.user is not None
    with unit_of_work.transaction() as s:
        s.merge(org).sso_enabled = False  # SSO turned off: the password works again, nobody is locked out
    with unit_of_work.transaction() as s:
        again = accounts.authenticate(session=s, email=member.email, password=PASSWORD, throttle=throttle)
    assert again.user is not None


async def test_the_login_page_offers_sso_and_says_why_a_password_was_refused(user, database_url):
    from tests.support import sign_in as password_sign_in

    with unit_of_work.transaction() as s:
        org = make_org(s, sso_enabled=True, sso_required=True, sso_email_domains=["req2.example"])
        member = make_user(s, role=UserRole.enterprise_participant, organization_id=org.id)
    answer = await password_sign_in(user.http_client, member.email, PASSWORD, "/")
    assert answer.headers["location"].startswith("/login?error=sso_required")
    await user.open("/login?error=sso_required")
    await user.should_see("Your organization requires single sign-on")
    await user.should_see("Continue with SSO")
    await user.open("/login?error=sso_seats")
    await user.should_see("no free seat")


def test_only_a_platform_admin_requires_sso_and_only_when_it_is_on(database_url):
    from console.errors import NotFound, PermissionDenied, ValidationFailed
    from console.services.identity import sso
    from tests.factories import actor_of

    with unit_of_work.transaction() as s:
        org = make_org(s, sso_enabled=True)
        off = make_org(s)
        admin = make_user(s, role=UserRole.platform_admin)
        org_admin = make_user(s, role=UserRole.enterprise_admin, organization_id=org.id)
    with unit_of_work.transaction() as s:
        changed = sso.set_sso_required(session=s, actor=actor_of(admin), organization_id=org.id, required=True)
        assert changed.sso_required and changed.version == 2
        with pytest.raises(ValidationFailed):
            sso.set_sso_required(session=s, actor=actor_of(admin), organization_id=off.id, required=True)
        with pytest.raises((PermissionDenied, NotFound)):
            sso.set_sso_required(session=s, actor=actor_of(org_admin), organization_id=org.id, required=False)
    with unit_of_work.read_only() as s:
        entry = s.scalar(select(AuditLogEntry).where(AuditLogEntry.entity_id == str(org.id)))
    assert entry.action == "organization.sso_update" and entry.after == {"sso_required": True, "version": 2}


def test_the_providers_documents_are_kept_and_a_rotated_key_set_is_fetched_again(
    client,
    acme,
    oidc_provider,  # noqa: F811
    monkeypatch,
):
    import requests
    from joserfc.jwk import RSAKey

    oidc.forget_providers()
    fetched: list[str] = []
    real_get = requests.get

    def counting_get(url, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        fetched.append(url)
        return real_get(url, *args, **kwargs)

    monkeypatch.setattr(requests, "get", counting_get)
    assert signed_in_actor(sign_in(client, oidc_provider, sub="keep-1", email="keep1@acme.example")) is not None
    assert signed_in_actor(sign_in(client, oidc_provider, sub="keep-1", email="keep1@acme.example")) is not None
    discovery = [u for u in fetched if u.endswith("/.well-known/openid-configuration")]
    assert len(discovery) == 1 and len(fetched) == 2  # the discovery document and the key set, once each

    # The provider rotated its keys: the kept set knows none of them. The sign-in still succeeds.
    jwks_uri = next(u for u in fetched if u not in discovery)
    stale = KeySet([RSAKey.generate_key(2048, {"kid": "retired"})]).as_dict(private=False)
    with oidc._kept_lock:
        oidc._kept[jwks_uri] = (float("inf"), stale)
    fetched.clear()
    assert signed_in_actor(sign_in(client, oidc_provider, sub="keep-1", email="keep1@acme.example")) is not None
    assert fetched == [jwks_uri]
    oidc.forget_providers()
