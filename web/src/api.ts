// The public JSON API (/api/v1), typed as the UI uses it. Shapes follow docs/openapi.json.

import { getToken } from './session';

export type Role = 'read' | 'write' | 'admin';

export interface Account {
  token_id: string;
  role: Role;
  workspaces: string[] | null;
  expires_at: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface LatestRun {
  id: string;
  status: RunStatus;
  operation: Operation;
  created_at: string;
  status_at: string;
}

export interface WorkspaceVcs {
  connection_id: string;
  repository: string;
  branch: string;
  trigger_prefixes?: string[];
}

export interface WorkspaceLock {
  holder: string;
  reason: string;
  locked_at: string;
}

export interface Workspace {
  id: string;
  created_at: string;
  updated_at: string;
  name: string;
  description: string;
  terraform_version: string | null;
  working_directory: string;
  auto_apply: boolean;
  vcs?: WorkspaceVcs | null;
  lock?: WorkspaceLock | null;
  locked: boolean;
  current_run_id?: string | null;
  execution_mode?: 'remote' | 'local';
  tags?: Record<string, string>;
  /** The runner's Fargate task size (CPU units, MiB); null: the platform's. */
  runner_size?: { cpu: number; memory: number } | null;
  latest_run: LatestRun | null;
  resource_count: number | null;
}

export type RunStatus =
  | 'pending'
  | 'fetching'
  | 'pre_plan_running'
  | 'planning'
  | 'post_plan_running'
  | 'planned'
  | 'confirmed'
  | 'pre_apply_running'
  | 'applying'
  | 'post_apply_running'
  | 'applied'
  | 'planned_and_finished'
  | 'discarded'
  | 'errored'
  | 'canceled'
  | 'force_canceled';

// The statuses a run ends in (iacp.runs.status.TERMINAL): polling stops there.
export const TERMINAL: ReadonlySet<string> = new Set([
  'planned_and_finished',
  'applied',
  'discarded',
  'errored',
  'canceled',
  'force_canceled',
]);

export type Operation = 'plan_and_apply' | 'plan_only';

export interface CommitSource {
  provider: string;
  connection_id: string;
  repository: string;
  clone_url: string;
  repository_url?: string | null;
  branch: string;
  ref?: string | null;
  commit_sha: string;
  commit_url?: string | null;
  pull_request_number?: number | null;
  pull_request_url?: string | null;
  sender?: string | null;
}

export type ResultStatus =
  | 'pending'
  | 'running'
  | 'passed'
  | 'failed'
  | 'errored'
  | 'timeout'
  | 'canceled'
  | 'overridden';

export type Stage = 'pre_plan' | 'post_plan' | 'pre_apply' | 'post_apply';

export interface TaskResultSummary {
  id: string;
  run_task_id: string;
  run_task_name: string;
  enforcement_level: 'advisory' | 'mandatory';
  status: ResultStatus;
  message: string;
}

export interface TaskStage {
  stage: Stage;
  status: 'running' | 'passed' | 'awaiting_override' | 'overridden' | 'canceled';
  warnings: string[];
  results: TaskResultSummary[];
}

export interface OutcomeTag {
  label: string;
  level: 'none' | 'info' | 'warning' | 'error';
}

export interface Outcome {
  outcome_id?: string | null;
  description: string;
  body?: string | null;
  url?: string | null;
  tags: Record<string, OutcomeTag[]>;
}

export interface TaskResult extends TaskResultSummary {
  created_at: string;
  updated_at: string;
  run_id: string;
  workspace_id: string;
  workspace_run_task_id?: string | null;
  stage: Stage;
  url?: string | null;
  outcomes: Outcome[];
  override?: { by: string; comment: string; at: string } | null;
}

export interface RunActions {
  is_confirmable: boolean;
  is_discardable: boolean;
  is_cancelable: boolean;
  is_force_cancelable: boolean;
  is_overridable: boolean;
}

export interface Run {
  id: string;
  created_at: string;
  workspace_id: string;
  operation: Operation;
  is_speculative: boolean;
  auto_apply: boolean;
  allow_empty_apply?: boolean;
  /** Its plan task applies too: while it shows planning, its apply log may be growing. */
  applies_in_plan_task?: boolean;
  save_plan?: boolean;
  is_destroy?: boolean;
  refresh_only?: boolean;
  refresh?: boolean;
  target_addrs?: string[];
  replace_addrs?: string[];
  variable_keys?: string[];
  status: RunStatus;
  status_timestamps: Record<string, string>;
  message: string;
  created_by: string;
  configuration_version_id: string;
  has_changes?: boolean | null;
  resource_additions?: number | null;
  resource_changes?: number | null;
  resource_destructions?: number | null;
  error?: { stage: string; message: string } | null;
  task_stages?: TaskStage[];
  state_version_id?: string | null;
  vcs?: CommitSource | null;
  actions: RunActions;
}

export interface RunCreate {
  operation: Operation;
  message: string;
  is_destroy: boolean;
  refresh_only: boolean;
  refresh: boolean;
  target_addrs: string[];
  replace_addrs: string[];
  allow_empty_apply: boolean;
  save_plan: boolean;
  auto_apply?: boolean;
}

export type RunAction = 'apply' | 'discard' | 'cancel' | 'force-cancel' | 'override-tasks';

export interface LogPage {
  data: string;
  next_offset: number;
  complete: boolean;
}

export type LogPhase = 'plan' | 'apply';

export interface StateOutput {
  name: string;
  value: unknown;
  sensitive: boolean;
  type?: unknown;
}

export interface StateVersion {
  id: string;
  created_at: string;
  workspace_id: string;
  run_id: string | null;
  rolled_back_from?: string | null;
  serial: number;
  lineage: string;
  partial?: boolean;
  resource_count?: number | null;
  output_names?: string[];
  status?: string;
  terraform_version?: string | null;
}

export interface Resource {
  id: string;
  address: string;
  type: string;
  provider: string;
  cloud_id: string | null;
}

export interface ResourcePage extends Page<Resource> {
  sync?: { status: string; serial: number; resource_count?: number | null } | null;
}

export interface Variable {
  id: string;
  key: string;
  value: string | null;
  category: 'terraform' | 'env';
  hcl: boolean;
  sensitive: boolean;
  description: string;
}

export interface WorkspaceRunTask {
  id: string;
  run_task_id: string;
  stages: Stage[];
  enforcement_level: 'advisory' | 'mandatory';
}

export interface RunTask {
  id: string;
  name: string;
  url: string;
  description: string;
  enabled: boolean;
}

// HCP's JSON plan (terraform show -json): only what the resource-change table reads.
export interface PlanJson {
  resource_changes?: { address: string; change: { actions: string[] } }[];
}

/** An error reply, worded as the API words it: `detail` of each of its `errors`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The API's URL for `path`, relative to the document: the app may live under a stage
 * prefix (/live/), and the API beside it, so never an absolute /api/v1. */
function apiUrl(path: string, query?: Record<string, string | number | null | undefined>): URL {
  const url = new URL('api/v1/' + path.replace(/^\//, ''), document.baseURI);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== '') url.searchParams.set(key, String(value));
  }
  return url;
}

/** The message of an error reply: each error's detail, as the API words it. */
async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { errors?: { detail?: string; title?: string }[] };
    const details = (body.errors ?? []).map((e) => e.detail || e.title).filter(Boolean);
    if (details.length > 0) return details.join(' ');
  } catch {
    // not JSON (a gateway's own error page): fall through to the status line
  }
  return `${response.status} ${response.statusText || 'error'}`.trim();
}

/** Called when any request answers 401: the session's token no longer works. */
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

async function request<T>(
  method: string,
  path: string,
  options: { query?: Record<string, string | number | null | undefined>; body?: unknown; token?: string } = {},
): Promise<T> {
  const token = options.token ?? getToken();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(apiUrl(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'omit', // the token is the only credential: never a cookie
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'The platform could not be reached.');
  }
  if (!response.ok) {
    const message = await errorMessage(response);
    if (response.status === 401 && options.token === undefined) onUnauthorized?.();
    throw new ApiError(response.status, message);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

const get = <T>(path: string, query?: Record<string, string | number | null | undefined>) =>
  request<T>('GET', path, { query });
// A body only where the route takes one: lock actions take none.
const post = <T>(path: string, body?: unknown) => request<T>('POST', path, { body });

const id = encodeURIComponent;

/** Who the token is: its role decides what the pages offer. */
export const fetchAccount = (token: string) => request<Account>('GET', 'account', { token });

export const api = {
  workspaces: (query: { name_prefix?: string; limit?: number; cursor?: string | null }) =>
    get<Page<Workspace>>('workspaces', query),
  workspace: (ws: string) => get<Workspace>(`workspaces/${id(ws)}`),
  unlock: (ws: string) => post<Workspace>(`workspaces/${id(ws)}/actions/unlock`),
  forceUnlock: (ws: string) => post<Workspace>(`workspaces/${id(ws)}/actions/force-unlock`),
  runs: (ws: string, query: { limit?: number; cursor?: string | null }) =>
    get<Page<Run>>(`workspaces/${id(ws)}/runs`, query),
  createRun: (ws: string, body: RunCreate) => post<Run>(`workspaces/${id(ws)}/runs`, body),
  currentStateVersion: (ws: string) => get<StateVersion>(`workspaces/${id(ws)}/current-state-version`),
  stateVersions: (ws: string, query: { limit?: number; cursor?: string | null }) =>
    get<Page<StateVersion>>(`workspaces/${id(ws)}/state-versions`, query),
  outputs: (sv: string) => get<Page<StateOutput>>(`state-versions/${id(sv)}/outputs`),
  resources: (ws: string, query: { limit?: number; cursor?: string | null }) =>
    get<ResourcePage>(`workspaces/${id(ws)}/resources`, query),
  variables: (ws: string) => get<Page<Variable>>(`workspaces/${id(ws)}/vars`, { limit: 100 }),
  attachedTasks: (ws: string) => get<Page<WorkspaceRunTask>>(`workspaces/${id(ws)}/run-tasks`),
  runTask: (task: string) => get<RunTask>(`run-tasks/${id(task)}`),
  run: (run: string) => get<Run>(`runs/${id(run)}`),
  runAction: (run: string, action: RunAction, comment: string) =>
    post<Run>(`runs/${id(run)}/actions/${action}`, { comment }),
  logs: (run: string, phase: LogPhase, offset: number) =>
    get<LogPage>(`runs/${id(run)}/logs`, { phase, offset }),
  planJson: (run: string) => get<PlanJson>(`runs/${id(run)}/plan-json`),
  taskResults: (run: string) => get<Page<TaskResult>>(`runs/${id(run)}/task-results`),
};
