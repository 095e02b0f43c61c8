// An error from the API (or a form check) in plain words, shown next to what caused it.
import { Icon } from "./Icon";

export function ErrorNote({ message, title, onDismiss }: { message: string | null | undefined; title?: string; onDismiss?: () => void }) {
  if (!message) return null;
  return (
    <div className="error-note" role="alert">
      <Icon name="alert" size={18} />
      <div className="error-note-text">
        {title && <strong>{title} </strong>}
        {message}
      </div>
      {onDismiss && (
        <button type="button" className="icon-button" aria-label="Dismiss" onClick={onDismiss}>
          <Icon name="x" size={16} />
        </button>
      )}
    </div>
  );
}
