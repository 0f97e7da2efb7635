// Numbers, money, durations and versions as the reader's language writes them.
import { currentLanguage, t } from "./i18n.js";

// Credits with two to four decimals: per-second charges are small.
export function money(credits) {
  return new Intl.NumberFormat(currentLanguage(), { minimumFractionDigits: 2, maximumFractionDigits: 4 }).format(credits);
}

export function duration(seconds) {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (hours > 0) return t("time.hm", { h: hours, m: String(minutes).padStart(2, "0") });
  return minutes > 0 ? t("time.m", { m: minutes }) : t("time.s", { s: seconds });
}

export function costText(soFar, rate) {
  return t("sessions.cost", { cost: money(soFar), rate: money(rate) });
}

export function limit(value, unit = "") { return value === null || value === undefined ? "—" : `${value}${unit}`; }

// Sizes in decimal units, as registries and disks show them.
export function bytesText(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}
