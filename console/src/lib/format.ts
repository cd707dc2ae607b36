// How numbers, sizes, money and dates read on screen.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const integer = new Intl.NumberFormat();

export function formatDateTime(iso: string): string {
  const value = new Date(iso);
  return Number.isNaN(value.getTime()) ? iso : dateTime.format(value);
}

/** A calendar date (YYYY-MM-DD) as written, without shifting it through the local time zone. */
export function formatDate(day: string): string {
  const value = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(value.getTime()) ? day : dateOnly.format(value);
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(size < 10 * 1024 ? 1 : 0)} KB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MB`;
}

/** Dollars with enough digits to tell small model costs apart (a local model costs $0). */
export function formatUsd(value: number): string {
  if (value === 0) return "$0.00";
  if (Math.abs(value) < 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toFixed(2)}`;
}

export function formatInteger(value: number): string {
  return integer.format(value);
}

export function titleCase(value: string): string {
  return value.charAt(0) + value.slice(1).toLowerCase();
}

/** A model's name as the router reports it: "local/extractive-v1" already names its provider. */
export function modelName(call: { provider: string; model: string }): string {
  return call.model.startsWith(`${call.provider}/`) ? call.model : `${call.provider}/${call.model}`;
}
