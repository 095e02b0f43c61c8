// Turns the error bodies of the OpenStack services into one plain sentence.
//   Nova      {"badRequest": {"code": 400, "message": "..."}} (any fault name as the key)
//   Neutron   {"NeutronError": {"type": "...", "message": "...", "detail": ""}}
//   Keystone  {"error": {"code": 401, "message": "...", "title": "..."}}
//   Glance    {"code": "...", "message": "...", "title": "..."} or a text/HTML page
//   Cinder    like Nova
//   Octavia   {"faultcode": "Client", "faultstring": "...", "debuginfo": null}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

const STATUS_WORDS: Record<number, string> = {
  400: "The request was not accepted",
  401: "You are not signed in",
  403: "You are not allowed to do this",
  404: "It was not found",
  409: "It is busy or in a conflicting state",
  413: "It is over a quota or size limit",
  500: "The cloud hit an internal error",
  502: "A service behind the cloud did not answer",
  503: "The service is unavailable",
};

function messageOf(value: unknown): string | null {
  if (!value || typeof value !== "object") return null;
  const o = value as Record<string, unknown>;
  if (typeof o.message === "string" && o.message.trim()) return o.message.trim();
  return null;
}

/** The message inside a JSON error body of any of the services, if there is one. */
export function messageFromJson(body: unknown): string | null {
  if (!body || typeof body !== "object") return null;
  const o = body as Record<string, unknown>;
  const direct = messageOf(o.error) ?? messageOf(o.NeutronError) ?? messageOf(o);
  if (direct) return direct;
  if (typeof o.faultstring === "string" && o.faultstring.trim()) return o.faultstring.trim();
  for (const v of Object.values(o)) {
    const m = messageOf(v);
    if (m) return m;
  }
  if (typeof o.detail === "string" && o.detail) return o.detail;
  return null;
}

/** Text of an HTML or plain-text error page (Glance's style), without the repeated title. */
export function messageFromText(text: string): string | null {
  const withoutTitle = text.replace(/<title>[\s\S]*?<\/title>/i, "").replace(/<h1>[\s\S]*?<\/h1>/i, "");
  const plain = withoutTitle
    .replace(/<br\s*\/?>/gi, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
  return plain || null;
}

/** One plain sentence for an HTTP error answer. */
export function describeError(status: number, text: string): string {
  let message: string | null = null;
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      message = messageFromJson(JSON.parse(trimmed));
    } catch {
      message = null;
    }
  }
  if (!message && trimmed) message = messageFromText(trimmed);
  const words = STATUS_WORDS[status] ?? `The request failed (HTTP ${status})`;
  if (!message) return `${words}.`;
  if (/^\d{3} /.test(message) && message.length < 40) return `${words} (${message}).`;
  return /[.!?]$/.test(message) ? message : `${message}.`;
}

/** The message to show for anything thrown by an API call. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof TypeError) return "The cloud could not be reached. Check your connection and try again.";
  if (e instanceof Error) return e.message;
  return String(e);
}
