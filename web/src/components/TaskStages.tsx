import type { Outcome, TaskResult, TaskStage } from '../api';
import { StatusBadge, statusText } from './StatusBadge';

/** The run's run-task stages, in a region named "Run tasks": each stage's status, and each
 * task's status, message and link, with the outcomes its service reported (HCP's structured
 * results: a description, a link, and tags with a level). */
export function TaskStages(props: { stages: TaskStage[]; results: TaskResult[] }) {
  const details = new Map(props.results.map((r) => [r.id, r]));
  return (
    <section aria-labelledby="tasks-title">
      <h2 id="tasks-title">Run tasks</h2>
      {props.stages.length === 0 && <p class="muted">No run-task stage has begun.</p>}
      {props.stages.map((stage) => (
        <div class="stage" key={stage.stage}>
          <h3>
            {statusText(stage.stage)} <StatusBadge status={stage.status} />
          </h3>
          {stage.warnings.length > 0 && (
            <ul class="warnings">
              {stage.warnings.map((w, i) => (
                <li key={i}>{w}</li>
              ))}
            </ul>
          )}
          <ul class="task-results">
            {stage.results.map((summary) => {
              const result = details.get(summary.id);
              return (
                <li key={summary.id} class="task-result">
                  <p>
                    <strong>{summary.run_task_name}</strong> <StatusBadge status={summary.status} />{' '}
                    <span class="muted">{summary.enforcement_level}</span>
                    {result?.url && (
                      <>
                        {' '}
                        <a href={result.url} rel="noopener noreferrer">
                          Details<span class="visually-hidden"> of {summary.run_task_name}</span>
                        </a>
                      </>
                    )}
                  </p>
                  {summary.message && <p>{summary.message}</p>}
                  {result?.override && (
                    <p class="muted">
                      Overridden by <span class="mono">{result.override.by}</span>
                      {result.override.comment ? `: ${result.override.comment}` : ''}
                    </p>
                  )}
                  {result && result.outcomes.length > 0 && <Outcomes outcomes={result.outcomes} />}
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </section>
  );
}

function Outcomes(props: { outcomes: Outcome[] }) {
  return (
    <ul class="outcomes">
      {props.outcomes.map((outcome, i) => (
        <li key={outcome.outcome_id ?? i}>
          {outcome.url ? (
            <a href={outcome.url} rel="noopener noreferrer">
              {outcome.description}
            </a>
          ) : (
            outcome.description
          )}{' '}
          {Object.entries(outcome.tags ?? {}).map(([key, tags]) =>
            tags.map((tag, j) => (
              <span key={`${key}-${j}`} class={`tag tag-${tag.level}`}>
                {key}: {tag.label}
              </span>
            )),
          )}
          {outcome.body && (
            <details>
              <summary>More</summary>
              <pre class="value">{outcome.body}</pre>
            </details>
          )}
        </li>
      ))}
    </ul>
  );
}
