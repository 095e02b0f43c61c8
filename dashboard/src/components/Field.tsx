// A labelled form field with its validation message.
import { ReactNode } from "react";

export function Field({ label, hint, error, children, htmlFor }: { label: string; hint?: string; error?: string | null; children: ReactNode; htmlFor?: string }) {
  return (
    <div className={error ? "field field-invalid" : "field"}>
      <label htmlFor={htmlFor}>{label}</label>
      {children}
      {error ? <div className="field-error">{error}</div> : hint ? <div className="field-hint">{hint}</div> : null}
    </div>
  );
}

/** Checks used by the forms before anything is sent. */
export const validate = {
  name(v: string, what = "A name"): string | null {
    if (!v.trim()) return `${what} is required.`;
    if (v.length > 255) return `${what} must be at most 255 characters.`;
    return null;
  },
  cidr(v: string): string | null {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v.trim());
    if (!m) return "Enter a network address like 10.0.0.0/24.";
    if (m.slice(1, 5).some((o) => Number(o) > 255)) return "Each part of the address must be 0–255.";
    const prefix = Number(m[5]);
    if (prefix < 8 || prefix > 30) return "The prefix length must be between /8 and /30.";
    return null;
  },
  ip(v: string): string | null {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v.trim());
    if (!m || m.slice(1).some((o) => Number(o) > 255)) return "Enter an IPv4 address like 10.0.0.1.";
    return null;
  },
  port(v: string): string | null {
    if (!v) return null;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) return "A port is a number from 1 to 65535.";
    return null;
  },
};

export function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="form-section">
      <h3>{title}</h3>
      {children}
    </div>
  );
}
