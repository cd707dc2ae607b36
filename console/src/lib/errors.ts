// Every error code of the contract (CONTRACT.md) as a sentence a person can act on, with the server's own
// detail where it says what to change (which field, which limit).

import type { CombinedError } from "@urql/core";

export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "BAD_USER_INPUT"
  | "RATE_LIMITED"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "QUERY_TOO_COMPLEX"
  | "UNAVAILABLE"
  | "INTERNAL"
  | "NETWORK";

const MESSAGES: Record<ErrorCode, string> = {
  UNAUTHENTICATED: "You are not signed in, or your session has ended. Please sign in again.",
  FORBIDDEN: "Your role does not allow this. Ask an administrator of your organization.",
  NOT_FOUND: "This was not found. It may have been deleted.",
  BAD_USER_INPUT: "Please check what you entered.",
  RATE_LIMITED: "Too many requests in a short time. Wait a minute and try again.",
  PAYLOAD_TOO_LARGE: "The file is too large.",
  UNSUPPORTED_MEDIA_TYPE: "This type of file is not supported.",
  QUERY_TOO_COMPLEX: "The request asks for too much at once. Ask for fewer items.",
  UNAVAILABLE: "A part of the service is unavailable right now. Try again in a moment.",
  INTERNAL: "Something went wrong on the server. Try again; if it keeps happening, tell your administrator.",
  NETWORK: "The server could not be reached. Check your connection and try again.",
};

/** Codes whose server message names the problem precisely (the field, the limit, the accepted types). */
const DETAILED: ReadonlySet<ErrorCode> = new Set([
  "BAD_USER_INPUT",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "FORBIDDEN",
  "NOT_FOUND",
  "QUERY_TOO_COMPLEX",
]);

export interface PublicError {
  code: ErrorCode;
  message: string;
}

function isCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && value in MESSAGES;
}

export function errorCode(error: CombinedError | undefined | null): ErrorCode | null {
  if (!error) return null;
  for (const e of error.graphQLErrors) {
    const code = e.extensions?.code;
    if (isCode(code)) return code;
  }
  if (error.networkError) return "NETWORK";
  return error.graphQLErrors.length ? "INTERNAL" : null;
}

/** The error a response carried: its code and the server's message. */
export function publicError(error: CombinedError | undefined | null): PublicError | null {
  const code = errorCode(error);
  if (!code || !error) return null;
  const first = error.graphQLErrors.find((e) => e.extensions?.code === code);
  return { code, message: first?.message ?? "" };
}

/** What to show a person for an error: the code's sentence, and the server's detail when it helps. */
export function describe(error: PublicError): string {
  const sentence = MESSAGES[error.code];
  const detail = error.message.trim();
  if (DETAILED.has(error.code) && detail) {
    const capitalised = detail.charAt(0).toUpperCase() + detail.slice(1);
    return `${sentence.replace(/\.$/, ":")} ${capitalised.replace(/\.?$/, ".")}`;
  }
  return sentence;
}

export function describeCombined(error: CombinedError | undefined | null): string | null {
  const found = publicError(error);
  return found ? describe(found) : null;
}

/** A GraphQL response body's first error, for responses read without the client (uploads). */
export function errorFromBody(body: unknown, status: number): PublicError | null {
  if (body && typeof body === "object" && "errors" in body) {
    const errors = (body as { errors?: { message?: string; extensions?: { code?: unknown } }[] }).errors;
    const first = errors?.[0];
    if (first) {
      const code = isCode(first.extensions?.code) ? first.extensions.code : "INTERNAL";
      return { code, message: first.message ?? "" };
    }
  }
  if (status === 413) return { code: "PAYLOAD_TOO_LARGE", message: "" };
  if (status === 429) return { code: "RATE_LIMITED", message: "" };
  if (status >= 500) return { code: "UNAVAILABLE", message: "" };
  return null;
}
