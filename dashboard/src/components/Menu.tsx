// A small "Actions" menu for a table row or a page header.
import { ReactNode, useEffect, useRef, useState } from "react";
import { Icon, IconName } from "./Icon";

export interface MenuAction {
  label: string;
  icon: IconName;
  onSelect: () => void;
  danger?: boolean;
  disabled?: boolean;
  hidden?: boolean;
}

export function ActionMenu({ actions, label = "Actions", testId }: { actions: MenuAction[]; label?: ReactNode; testId?: string }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open]);
  if (actions.every((a) => a.hidden)) return null;
  return (
    <div className="dropdown" ref={ref}>
      <button type="button" className="btn btn-small" onClick={() => setOpen(!open)} aria-haspopup="menu" aria-expanded={open} data-testid={testId}>
        {label} <Icon name="chevronDown" size={14} />
      </button>
      {open && (
        <div className="dropdown-menu dropdown-right" role="menu">
          {actions
            .filter((a) => !a.hidden)
            .map((a) => (
              <button
                type="button"
                role="menuitem"
                key={a.label}
                className={a.danger ? "dropdown-item danger" : "dropdown-item"}
                disabled={a.disabled}
                onClick={() => {
                  setOpen(false);
                  a.onSelect();
                }}
              >
                <Icon name={a.icon} size={16} /> {a.label}
              </button>
            ))}
        </div>
      )}
    </div>
  );
}
