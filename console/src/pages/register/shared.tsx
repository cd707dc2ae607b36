// What the three register pages share: their navigation, export buttons, cursor paging, and opening an entry
// that an alert (or any link) named in the address's fragment.

import { useLocation } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { type Export, downloadExport } from "../../lib/download";
import type { PublicError } from "../../lib/errors";
import { formatInteger } from "../../lib/format";

/** Entries per page: the API's default. */
export const PAGE_SIZE = 50;

const PAGES: [string, string][] = [
  ["/register/action-items", "Action items"],
  ["/register/risks", "Risks"],
  ["/register/decisions", "Decisions"],
];

export function RegisterNav() {
  const { path } = useLocation();
  const current = path === "/register" ? "/register/action-items" : path;
  return (
    <nav class="subnav" aria-label="Register">
      <ul>
        {PAGES.map(([href, label]) => (
          <li key={href}>
            <a href={href} aria-current={current === href ? "page" : undefined}>
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** Buttons that fetch an export with the session's token and save it (a link cannot carry the token). */
export function ExportButtons({ exports }: { exports: Export[] }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<PublicError | null>(null);
  return (
    <>
      {exports.map((target) => (
        <button
          key={target.path}
          type="button"
          class="secondary"
          disabled={busy === target.path}
          onClick={async () => {
            setBusy(target.path);
            setError(await downloadExport(target));
            setBusy(null);
          }}
        >
          Download {target.label}
        </button>
      ))}
      <ErrorMessage public={error} />
    </>
  );
}

/** The cursor of each page visited: "Previous" goes back one; another `resetKey` (other filters) starts again. */
export function useCursors(resetKey: string) {
  const [state, setState] = useState<{ key: string; cursors: (string | null)[] }>({ key: resetKey, cursors: [null] });
  // Read against the key at once, so the first request with new filters never carries the old filters' cursor.
  const cursors = state.key === resetKey ? state.cursors : [null];
  return {
    after: cursors[cursors.length - 1] ?? null,
    pageNumber: cursors.length,
    previous: () => setState({ key: resetKey, cursors: cursors.slice(0, -1) }),
    next: (cursor: string | null) => setState({ key: resetKey, cursors: [...cursors, cursor] }),
  };
}

export function Pager({
  label,
  noun,
  pageNumber,
  totalCount,
  hasNextPage,
  fetching,
  onPrevious,
  onNext,
}: {
  label: string;
  noun: [string, string];
  pageNumber: number;
  totalCount: number;
  hasNextPage: boolean;
  fetching: boolean;
  onPrevious: () => void;
  onNext: () => void;
}) {
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="secondary" disabled={pageNumber === 1} onClick={onPrevious}>
        Previous
      </button>
      <span aria-live="polite">
        Page {pageNumber} · {formatInteger(totalCount)} {totalCount === 1 ? noun[0] : noun[1]}
      </span>
      <button type="button" class="secondary" disabled={!hasNextPage || fetching} onClick={onNext}>
        Next
      </button>
    </nav>
  );
}

/**
 * An entry named in the address's fragment (`#item-<id>`, `#risk-<id>`, as alerts link them): once the list has
 * loaded, scroll to it and move the focus there; false when the list does not hold it (other filters, another page).
 */
export function useOpenedEntry(prefix: string, loaded: boolean, ids: string[]): boolean {
  const { url } = useLocation();
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    const wanted = window.location.hash.slice(1);
    if (!loaded || !wanted.startsWith(prefix)) {
      setMissing(false);
      return;
    }
    const element = ids.includes(wanted.slice(prefix.length)) ? document.getElementById(wanted) : null;
    setMissing(element === null);
    if (element) {
      element.scrollIntoView({ block: "center" });
      element.focus({ preventScroll: true });
    }
  }, [url, loaded, ids.join(",")]);
  return missing;
}

/** A list of values from the address (`a,b`): absent gives the defaults, "any" gives none (no filter). */
export function choicesFrom<T extends string>(value: string | undefined, all: readonly T[], defaults: readonly T[]): T[] {
  if (value === undefined) return [...defaults];
  if (value === "any") return [];
  const chosen = value.split(",");
  return all.filter((choice) => chosen.includes(choice));
}

/** The address form of a choice: omitted when it is the default, "any" when nothing is chosen. */
export function choicesParam<T extends string>(chosen: readonly T[], defaults: readonly T[]): string | null {
  const same = chosen.length === defaults.length && defaults.every((choice) => chosen.includes(choice));
  if (same) return null;
  return chosen.length === 0 ? "any" : chosen.join(",");
}

export function isDate(value: string | undefined): value is string {
  return value !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(value);
}

/** Checkboxes for a status filter; the choices stay in their listed order. */
export function StatusChoices<T extends string>({
  all,
  chosen,
  label,
  onChange,
}: {
  all: readonly T[];
  chosen: readonly T[];
  label: (value: T) => string;
  onChange: (chosen: T[]) => void;
}) {
  return (
    <fieldset class="choices">
      <legend>Status</legend>
      {all.map((value) => (
        <label key={value} class="radio">
          <input
            type="checkbox"
            checked={chosen.includes(value)}
            onChange={(event) =>
              onChange(
                event.currentTarget.checked
                  ? all.filter((s) => s === value || chosen.includes(s))
                  : chosen.filter((s) => s !== value),
              )
            }
          />
          {label(value)}
        </label>
      ))}
    </fieldset>
  );
}
