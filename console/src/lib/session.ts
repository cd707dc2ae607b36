// The signed-in session: tokens kept in localStorage (a page refresh keeps the session), the access token
// refreshed a minute before it expires, and one refresh at a time across every tab of the browser.
//
// Refresh tokens are single use and a used one revokes its whole family (CONTRACT.md), so two tabs must never
// present the same one: refreshing happens under a Web Lock, and a tab that finds the stored session already
// rotated by another tab adopts it instead of refreshing again.

import { Client, fetchExchange } from "@urql/core";
import { graphql } from "../gql";
import type { Role } from "../gql/graphql";
import { errorCode } from "./errors";

export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  organizationName: string;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch, on this browser's clock. */
  expiresAt: number;
  user: SessionUser;
}

export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: { id: string; email: string; name?: string | null; role: Role; organization: { name: string } };
}

const STORAGE_KEY = "pmdi.session";
const ENDED_KEY = "pmdi.sessionEnded";
const LOCK_NAME = "pmdi.session.refresh";
/** Refresh this long before the access token expires (and treat it as expired from then on). */
export const REFRESH_MARGIN_MS = 60_000;

export const RefreshTokenMutation = graphql(`
  mutation RefreshToken($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      accessToken
      refreshToken
      expiresIn
      user { id email name role organization { id name } }
    }
  }
`);

export const LogoutMutation = graphql(`
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`);

// Session calls go through their own client: no auth exchange, no cache, nothing to loop back into.
const sessionClient = new Client({ url: "/graphql", exchanges: [fetchExchange], requestPolicy: "network-only" });

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();
let current: Session | null = readStored();
let timer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<Session | null> | null = null;

function readStored(): Session | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const value = JSON.parse(raw) as Partial<Session>;
    if (
      typeof value.accessToken === "string" &&
      typeof value.refreshToken === "string" &&
      typeof value.expiresAt === "number" &&
      value.user &&
      typeof value.user.id === "string"
    ) {
      return value as Session;
    }
  } catch {
    // Unreadable storage (privacy mode, a corrupt value): no session.
  }
  return null;
}

function publish(next: Session | null, { store = true } = {}): void {
  current = next;
  if (store) {
    try {
      if (next) localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
      else localStorage.removeItem(STORAGE_KEY);
    } catch {
      // Storage refused: the session lives in this tab only.
    }
  }
  schedule();
  for (const listener of listeners) listener(next);
}

function schedule(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  if (!current) return;
  const due = Math.max(5_000, current.expiresAt - Date.now() - REFRESH_MARGIN_MS);
  timer = setTimeout(() => void refreshSession().catch(() => schedule()), due);
}

function fromPayload(payload: AuthPayload): Session {
  return {
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
    expiresAt: Date.now() + payload.expiresIn * 1000,
    user: {
      id: payload.user.id,
      email: payload.user.email,
      name: payload.user.name ?? null,
      role: payload.user.role,
      organizationName: payload.user.organization.name,
    },
  };
}

export function getSession(): Session | null {
  return current;
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Start a session from a login, sign-up or refresh payload. */
export function startSession(payload: AuthPayload): void {
  sessionStorage.removeItem(ENDED_KEY);
  publish(fromPayload(payload));
}

/** Keep the session's view of the user current (a role changed by an administrator, a new name). */
export function updateUser(user: SessionUser): void {
  if (current && current.user.id === user.id && JSON.stringify(current.user) !== JSON.stringify(user)) {
    publish({ ...current, user });
  }
}

/** Why the last session ended, when it was not the user's choice; read once by the sign-in page. */
export function takeEndedReason(): string | null {
  const reason = sessionStorage.getItem(ENDED_KEY);
  sessionStorage.removeItem(ENDED_KEY);
  return reason;
}

function end(reason: string | null): void {
  if (reason) sessionStorage.setItem(ENDED_KEY, reason);
  publish(null);
}

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  // Web Locks exist in secure contexts (https, and http on loopback); elsewhere tabs refresh independently.
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  return locks ? locks.request(LOCK_NAME, work) : work();
}

async function rotate(rejectedToken: string | undefined): Promise<Session | null> {
  const stored = readStored();
  if (!stored) {
    if (current) publish(null, { store: false }); // signed out in another tab
    return null;
  }
  const fresh = stored.expiresAt - Date.now() > REFRESH_MARGIN_MS;
  if (fresh && stored.accessToken !== rejectedToken) {
    if (stored.accessToken !== current?.accessToken) publish(stored, { store: false }); // another tab rotated it
    return stored;
  }
  const result = await sessionClient.mutation(RefreshTokenMutation, { refreshToken: stored.refreshToken }).toPromise();
  if (result.data) {
    publish(fromPayload(result.data.refreshToken));
    return current;
  }
  const code = errorCode(result.error);
  if (code === "UNAUTHENTICATED" || code === "BAD_USER_INPUT" || code === "NOT_FOUND") {
    end("Your session has ended. Please sign in again.");
    return null;
  }
  throw result.error ?? new Error("the session could not be refreshed");
}

/** Rotate the tokens now (once, whoever asks); `rejectedToken` is an access token the server refused. */
export function refreshSession(rejectedToken?: string): Promise<Session | null> {
  if (!inflight) {
    inflight = withLock(() => rotate(rejectedToken)).finally(() => {
      inflight = null;
    });
  }
  return inflight;
}

/** The session with an access token good for at least another minute, refreshing first if needed. */
export async function freshSession(): Promise<Session | null> {
  if (current && current.expiresAt - Date.now() <= REFRESH_MARGIN_MS) return refreshSession();
  return current;
}

/** Sign out: the server ends the refresh token's session, then this browser forgets it. */
export async function signOut(): Promise<void> {
  const session = current;
  end(null);
  if (session) {
    await sessionClient.mutation(LogoutMutation, { refreshToken: session.refreshToken }).toPromise();
  }
}

// Another tab signed in, out, or rotated the tokens.
if (typeof window !== "undefined") {
  window.addEventListener("storage", (event) => {
    if (event.key !== STORAGE_KEY && event.key !== null) return;
    const stored = readStored();
    if (stored?.accessToken !== current?.accessToken) publish(stored, { store: false });
  });
}
schedule();
