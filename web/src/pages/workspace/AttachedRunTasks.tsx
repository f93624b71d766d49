import { api, type RunTask, type WorkspaceRunTask } from '../../api';
import { useLoad } from '../../load';
import { DataTable } from '../../components/DataTable';
import { Listing } from '../../components/Listing';
import { Section } from '../../components/Section';
import { statusText } from '../../components/StatusBadge';

type Attachment = WorkspaceRunTask & { task?: RunTask };

/** The workspace's attachments, each with its run task (undefined when it cannot be read: the
 * row then shows the task's id). The attachments name their run tasks by id only, so each is
 * fetched for its name. */
async function readAttachments(workspaceId: string): Promise<Attachment[]> {
  const page = await api.attachedTasks(workspaceId);
  const tasks = await Promise.all(page.items.map((a) => api.runTask(a.run_task_id).catch(() => undefined)));
  return page.items.map((a, i) => ({ ...a, task: tasks[i] }));
}

/** The run tasks attached to the workspace: when each runs and how it is enforced. */
export function AttachedRunTasks(props: { workspaceId: string }) {
  const attached = useLoad(() => readAttachments(props.workspaceId), [props.workspaceId]);
  return (
    <Section headingId="ws-tasks-title" title="Attached run tasks">
      <Listing items={attached.data} error={attached.error} empty="No run tasks attached.">
        {(items: Attachment[]) => (
          <DataTable columns={['Run task', 'Stages', 'Enforcement']}>
            {items.map((a) => (
              <tr key={a.id}>
                <th scope="row">{a.task?.name ?? <span class="mono">{a.run_task_id}</span>}</th>
                <td>{a.stages.map(statusText).join(', ')}</td>
                <td>{a.enforcement_level}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
    </Section>
  );
}
