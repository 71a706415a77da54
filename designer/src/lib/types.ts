/** Shapes of the wfo REST API the app uses (api/schemas.py, api/routes/*.py). */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: any };

export interface ComponentSpec {
  type: string;
  kind: "control" | "pure" | "activity";
  category: string;
  title: string;
  description: string;
  icon: string;
  config_schema: JsonObject;
  output_schema: JsonObject;
  ports: string[];
  dynamic_ports: boolean;
  can_fail: boolean;
  idempotent: boolean;
  docs: string;
  example: JsonObject | null;
  expression_fields: string[];
}

export interface Position { x: number; y: number }

export interface DefNode {
  id: string;
  type: string;
  name?: string;
  config?: JsonObject;
  position?: Position;
  [extra: string]: any;
}

export interface DefEdge { source: string; target: string; source_port?: string; [extra: string]: any }

export interface StickyNote {
  id: string;
  text: string;
  position: Position;
  width?: number;
  height?: number;
  color?: string;
}

export interface Definition {
  schema_version?: number;
  nodes: DefNode[];
  edges: DefEdge[];
  notes?: StickyNote[];
  pin_data?: Record<string, any>;
  [extra: string]: any;
}

export interface Problem {
  code: string;
  message: string;
  node_id?: string | null;
  edge_index?: number | null;
  field?: string | null;
}

export interface Me {
  kind: string;
  id: string;
  tenant_id: string;
  role: string;
  name: string;
  permissions: string[];
}

export interface Workflow {
  id: string;
  name: string;
  description: string | null;
  category: string | null;
  tags: string[];
  status: string;
  current_version: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
  execution_count?: number | null;
  success_rate?: number | null;
  definition?: Definition;
}

export interface Execution {
  id: string;
  workflow_id: string | null;
  version: number | null;
  status: string;
  trigger: string;
  started_by: string | null;
  started_at: string;
  completed_at: string | null;
  duration_ms?: number | null;
  error: string | null;
  input?: any;
  output?: any;
  nodes?: Record<string, NodeState> | null;
  progress?: any;
  temporal_ui_url?: string;
}

export interface NodeState {
  status: string;
  attempts?: number;
  activations?: number;
  started_at?: string | null;
  completed_at?: string | null;
  duration_ms?: number | null;
  error?: any;
}

export interface Task {
  id: string;
  execution_id: string;
  workflow_id: string | null;
  node_id: string;
  title: string;
  description: string | null;
  status: string;
  assignees: { users: string[]; roles: string[] };
  required_approvals: number;
  form: JsonObject | null;
  due_at: string | null;
  decision: string | null;
  votes: any[];
  created_at: string;
}

export interface Page<T> { items: T[]; total: number; limit?: number; offset?: number }
