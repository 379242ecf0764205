// Who is logged in. The token lives in sessionStorage: it survives a reload but not the
// tab, and is never a cookie (the API reads bearer tokens only, so there is no CSRF to fear).

const KEY = "overgang.session";

/** The claims of a JWT, read (not verified: the server verifies every request). */
export function claimsOf(token) {
  const part = String(token).split(".")[1];
  if (!part) throw new Error("Det ligner ikke et token (JWT).");
  const base64 = part.replaceAll("-", "+").replaceAll("_", "/");
  const json = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

/** A session from a token (and what the demo login knows besides). */
export function sessionFrom(token, extra = {}) {
  const claims = claimsOf(token);
  return {
    token,
    role: claims.role,
    sub: claims.sub,
    team: claims.team ?? null,
    // Counsellors and team leads act under their counsellor id (as `overgang simulate` and
    // the demo login do); a token from elsewhere may name its own subject.
    counsellorId: extra.counsellorId ?? (["counsellor", "team_lead"].includes(claims.role) ? claims.sub : null),
    displayName: extra.displayName ?? claims.sub,
    expiresAt: claims.exp ? claims.exp * 1000 : null,
  };
}

export function load() {
  try {
    const session = JSON.parse(sessionStorage.getItem(KEY));
    if (!session || !session.token) return null;
    if (session.expiresAt && session.expiresAt <= Date.now()) {
      clear();
      return null;
    }
    return session;
  } catch (error) {
    return null;
  }
}

export function save(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clear() {
  sessionStorage.removeItem(KEY);
}

/** The demo identities, or null when the server has no demo login (404 outside embedded development). */
export async function demoIdentities() {
  try {
    const response = await fetch("/api/v1/demo/identities", { headers: { Accept: "application/json" } });
    if (!response.ok) return null;
    return (await response.json()).identities;
  } catch (error) {
    return null;
  }
}

export async function demoLogin(identity) {
  const response = await fetch("/api/v1/demo/login", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ identity: identity.id }),
  });
  if (!response.ok) throw new Error(`Demo-login mislykkedes (HTTP ${response.status}).`);
  const body = await response.json();
  return sessionFrom(body.token, {
    counsellorId: body.identity.counsellor_id,
    displayName: body.identity.display_name,
  });
}
