/** The component palette: searchable (cmdk), grouped by category; drag an item onto the canvas
 * (or press Enter / click to add it at the centre). */
import { Command } from "cmdk";
import type { ComponentSpec } from "../lib/types";
import { iconFor } from "./NodeView";

export const DND_TYPE = "application/wfo-type";

export function Palette({ specs, categories, onAdd, error }: { specs: Record<string, ComponentSpec>; categories: string[]; onAdd: (type: string) => void; error?: string | null }) {
  const list = Object.values(specs).filter((s) => s.type !== "start");
  const cats = categories.length ? categories : [...new Set(list.map((s) => s.category))];
  return (
    <aside className="palette" data-testid="palette">
      <Command label="Components" loop filter={(value, search) => (value.toLowerCase().includes(search.toLowerCase().trim()) ? 1 : 0)}>
        <Command.Input placeholder="Search components…  (/)" data-testid="palette-search" />
        <Command.List>
          <Command.Empty>No component matches.</Command.Empty>
          {error ? <div className="error small">Palette unavailable: {error}</div> : null}
          {cats.map((c) => {
            const items = list.filter((s) => s.category === c);
            if (!items.length) return null;
            return (
              <Command.Group key={c} heading={c}>
                {items.map((s) => (
                  <Command.Item key={s.type} value={`${s.title} ${s.type} ${s.category}`} onSelect={() => onAdd(s.type)}>
                    <div className="palette-item" draggable data-testid={`palette-${s.type}`} title={s.description}
                      onDragStart={(e) => { e.dataTransfer.setData(DND_TYPE, s.type); e.dataTransfer.setData("text/plain", s.type); e.dataTransfer.effectAllowed = "move"; }}>
                      <span className="icon">{iconFor(s.icon, s.type)}</span>
                      <span><strong>{s.title}</strong><small className="muted"> {s.type}</small></span>
                    </div>
                  </Command.Item>
                ))}
              </Command.Group>
            );
          })}
        </Command.List>
      </Command>
    </aside>
  );
}
