import { useEffect, useState } from "preact/hooks";
import type { Role } from "../gql/graphql";
import { type Session, getSession, onSessionChange } from "./session";

export function useSession(): Session | null {
  const [session, setSession] = useState(getSession);
  useEffect(() => onSessionChange(setSession), []);
  return session;
}

/** The interface hides what a role may not do; the server refuses it regardless. */
export function canUpload(role: Role): boolean {
  return role === "ADMIN" || role === "MEMBER";
}
