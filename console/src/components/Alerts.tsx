import { useSubscription } from "@urql/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { AlertKind, AlertsSubscription as AlertsResult } from "../gql/graphql";
import { formatDateTime } from "../lib/format";
import { AlertsSubscription } from "../operations";

type Alert = AlertsResult["alerts"] & { key: number };

/** Alerts kept since the page was opened, the newest first. */
const KEPT = 20;

const KINDS: Record<AlertKind, string> = {
  HIGH_RISK: "High risk",
  ITEM_DUE_SOON: "Due soon",
  ITEM_OVERDUE: "Overdue",
  BUDGET_THRESHOLD: "Budget",
};

let received = 0;

function keep(previous: Alert[] | undefined, data: AlertsResult): Alert[] {
  received += 1;
  return [{ ...data.alerts, key: received }, ...(previous ?? [])].slice(0, KEPT);
}

/**
 * The organization's alerts as they happen (the `alerts` subscription): a button in the top bar counts them and
 * opens a panel with each one (what happened, a link to its risk, action item or document, a dismiss button).
 * Each new alert is announced politely to screen readers. Nothing covers the page until the panel is opened.
 */
export function Alerts({ admin }: { admin: boolean }) {
  const [{ data }] = useSubscription({ query: AlertsSubscription }, keep);
  const [dismissed, setDismissed] = useState<ReadonlySet<number>>(new Set());
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const pending = (data ?? []).filter((alert) => !dismissed.has(alert.key));
  const newest = data?.[0];
  const dismiss = (keys: number[]) => setDismissed(new Set([...dismissed, ...keys]));
  const close = () => setOpen(false);

  // The panel closes on Escape (the focus goes back to its button) and on a click anywhere outside it.
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        setOpen(false);
        button.current?.focus();
      }
    };
    // The path as dispatched: a dismissed alert's button may have left the page before the click reaches here.
    const onClick = (event: MouseEvent) => {
      if (menu.current && !event.composedPath().includes(menu.current)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onClick);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("click", onClick);
    };
  }, [open]);

  return (
    <div class="alerts-menu" ref={menu}>
      <button
        type="button"
        ref={button}
        class={`secondary alerts-button${pending.length ? " has-alerts" : ""}`}
        aria-expanded={open}
        aria-controls="alerts-panel"
        onClick={() => setOpen(!open)}
      >
        Alerts{" "}
        <span class="alerts-count">
          {pending.length}
          <span class="visually-hidden"> new</span>
        </span>
      </button>
      <p class="visually-hidden" aria-live="polite">
        {newest ? `New alert. ${KINDS[newest.kind]}: ${newest.message}` : ""}
      </p>
      {open ? (
        <div id="alerts-panel" class="alerts-panel" role="region" aria-label="Alerts">
          {pending.length === 0 ? <p class="empty">No alerts since this page was opened.</p> : null}
          <ul>
            {pending.map((alert) => (
              <li key={alert.key} class={`alert alert-${alert.kind.toLowerCase().replace(/_/g, "-")}`}>
                <p class="alert-head">
                  <strong>{KINDS[alert.kind]}</strong>
                  <span class="muted small"> · {formatDateTime(alert.at)}</span>
                </p>
                <p class="alert-message">{alert.message}</p>
                <p class="alert-links">
                  {alert.risk ? (
                    <a href={`/register/risks#risk-${alert.risk.id}`} onClick={close}>
                      Open the risk
                    </a>
                  ) : null}
                  {alert.actionItem ? (
                    <a href={`/register/action-items#item-${alert.actionItem.id}`} onClick={close}>
                      Open the action item
                    </a>
                  ) : null}
                  {alert.document ? (
                    <a href={`/documents/${alert.document.id}`} onClick={close}>
                      Open the document<span class="visually-hidden">: {alert.document.title}</span>
                    </a>
                  ) : null}
                  {alert.kind === "BUDGET_THRESHOLD" && admin ? (
                    <a href="/usage" onClick={close}>
                      See usage
                    </a>
                  ) : null}
                </p>
                <button
                  type="button"
                  class="secondary small alert-dismiss"
                  aria-label={`Dismiss the alert: ${alert.message}`}
                  onClick={() => dismiss([alert.key])}
                >
                  Dismiss
                </button>
              </li>
            ))}
          </ul>
          {pending.length > 1 ? (
            <button type="button" class="secondary small" onClick={() => dismiss(pending.map((alert) => alert.key))}>
              Dismiss all
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
