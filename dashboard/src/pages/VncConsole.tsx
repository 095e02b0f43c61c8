// The interactive console of an instance in the page: noVNC against the websocket of the URL
// Nova's remote-consoles API hands out (only its path and query are used, on this origin).
import RFB from "@novnc/novnc";
import { useCallback, useEffect, useRef, useState } from "react";
import { createVncConsole } from "../api/compute";
import { errorText } from "../api/errors";
import { ErrorNote } from "../components/ErrorNote";
import { Icon } from "../components/Icon";

type State = "requesting" | "connecting" | "connected" | "disconnected" | "failed";

/** ws(s)://this-host/compute/console/vnc?token=… from the URL the API returned. */
export function websocketUrl(consoleUrl: string): string {
  const u = new URL(consoleUrl, window.location.origin);
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${u.pathname}${u.search}`;
}

const STATE_TEXT: Record<State, string> = {
  requesting: "Requesting a console…",
  connecting: "Connecting…",
  connected: "Connected",
  disconnected: "Disconnected",
  failed: "Could not connect",
};

export function VncConsole({ serverId, serverName }: { serverId: string; serverName: string }) {
  const screen = useRef<HTMLDivElement>(null);
  const rfb = useRef<RFB | null>(null);
  const [state, setState] = useState<State>("requesting");
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  const connect = useCallback(async (cancelled: () => boolean) => {
    setState("requesting");
    setError(null);
    try {
      const url = await createVncConsole(serverId);
      if (cancelled() || !screen.current) return;
      setState("connecting");
      const r = new RFB(screen.current, websocketUrl(url), { wsProtocols: ["binary"], shared: true });
      r.scaleViewport = true;
      r.resizeSession = false;
      r.background = "#0f172a";
      r.addEventListener("connect", () => setState("connected"));
      r.addEventListener("disconnect", (e) => {
        const clean = (e as CustomEvent<{ clean: boolean }>).detail?.clean;
        setState(clean ? "disconnected" : "failed");
        if (!clean) setError("The console connection was closed by the cloud. The instance may have stopped; try reconnecting.");
      });
      rfb.current = r;
    } catch (e) {
      if (!cancelled()) {
        setState("failed");
        setError(errorText(e));
      }
    }
  }, [serverId]);

  useEffect(() => {
    let stop = false;
    void connect(() => stop);
    return () => {
      stop = true;
      rfb.current?.disconnect();
      rfb.current = null;
    };
  }, [connect, attempt]);

  return (
    <div className="vnc" data-testid="vnc-console" data-state={state}>
      <div className="vnc-toolbar">
        <span className={`vnc-state vnc-${state}`}>
          <span className="dot" /> {STATE_TEXT[state]}
        </span>
        <span className="muted small">{serverName} · VNC through the compute console proxy</span>
        <div className="spacer" />
        <button type="button" className="btn btn-small" disabled={state !== "connected"} onClick={() => rfb.current?.sendCtrlAltDel()}>
          Send Ctrl+Alt+Del
        </button>
        <button type="button" className="btn btn-small" onClick={() => { rfb.current?.disconnect(); setAttempt((a) => a + 1); }}>
          <Icon name="refresh" size={14} /> Reconnect
        </button>
        <button type="button" className="btn btn-small" onClick={() => screen.current?.requestFullscreen?.()}>
          Full screen
        </button>
      </div>
      <ErrorNote message={error} />
      <div className="vnc-screen" ref={screen} onClick={() => rfb.current?.focus()} />
    </div>
  );
}
