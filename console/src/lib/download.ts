// The register's exports (GET /export/...) need the bearer token, which a plain link cannot carry: fetch the file
// with it, then hand the browser the bytes to save under the server's file name.

import { type PublicError, errorFromBody } from "./errors";
import { freshSession } from "./session";

export interface Export {
  path: string;
  fileName: string;
  label: string;
}

export const ACTION_ITEMS_CSV: Export = { path: "/export/action-items.csv", fileName: "action-items.csv", label: "CSV" };
export const ACTION_ITEMS_ICS: Export = {
  path: "/export/action-items.ics",
  fileName: "action-items.ics",
  label: "Calendar (.ics)",
};
export const RISKS_CSV: Export = { path: "/export/risks.csv", fileName: "risks.csv", label: "CSV" };

/** The file name from `Content-Disposition: attachment; filename="…"`, if the server gave one. */
function fileNameFrom(header: string | null): string | null {
  const match = header ? /filename="?([^";]+)"?/i.exec(header) : null;
  return match?.[1] ?? null;
}

/** Fetches an export and saves it; resolves to the error to show, or null when the browser has the file. */
export async function downloadExport(target: Export): Promise<PublicError | null> {
  const session = await freshSession();
  let response: Response;
  try {
    response = await fetch(target.path, {
      headers: session ? { Authorization: `Bearer ${session.accessToken}` } : {},
      cache: "no-store",
    });
  } catch {
    return { code: "NETWORK", message: "" };
  }
  if (!response.ok) {
    const body: unknown = await response.json().catch(() => null);
    return errorFromBody(body, response.status) ?? { code: "INTERNAL", message: "" };
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = fileNameFrom(response.headers.get("content-disposition")) ?? target.fileName;
  link.click();
  // The download has started from the object URL; keep it a moment for slow browsers, then free the bytes.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
  return null;
}
