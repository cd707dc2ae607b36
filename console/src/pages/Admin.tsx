import { useMutation, useQuery } from "@urql/preact";
import { useState } from "preact/hooks";
import { ErrorMessage } from "../components/ErrorMessage";
import { Page } from "../components/Page";
import type { CostPriority, Role } from "../gql/graphql";
import { formatDateTime, formatUsd, titleCase } from "../lib/format";
import { useSession } from "../lib/useSession";
import { AddUserMutation, RoutingPolicyQuery, SetRoutingPolicyMutation, SetUserRoleMutation, UsersQuery } from "../operations";
import { OnlyAdministrators } from "./Usage";

const ROLES: [Role, string][] = [
  ["ADMIN", "Administrator: everything, including users, usage and the budget"],
  ["MEMBER", "Member: upload, process again, delete their own documents"],
  ["VIEWER", "Viewer: read, search and ask"],
];
const PRIORITIES: [CostPriority, string][] = [
  ["ECONOMY", "Economy: the cheapest model that suits each task"],
  ["BALANCED", "Balanced"],
  ["QUALITY", "Quality: the best model, whatever it costs (within the budget)"],
];

export function AdminPage() {
  const session = useSession();
  if (session?.user.role !== "ADMIN") {
    return (
      <Page title="Admin">
        <OnlyAdministrators what="users, roles and the budget" />
      </Page>
    );
  }
  return (
    <Page title="Admin">
      <Users selfId={session.user.id} />
      <AddUser />
      <Routing />
    </Page>
  );
}

function Users({ selfId }: { selfId: string }) {
  const [{ data, error }] = useQuery({ query: UsersQuery });
  const [changed, setRole] = useMutation(SetUserRoleMutation);
  const [saved, setSaved] = useState<string | null>(null);
  return (
    <section aria-labelledby="users-heading">
      <h2 id="users-heading">Users and roles</h2>
      <ErrorMessage error={error ?? changed.error} />
      {saved ? (
        <p class="notice" role="status">
          {saved}
        </p>
      ) : null}
      {data ? (
        <table>
          <caption class="visually-hidden">The organization's users and their roles</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {data.users.map((user) => (
              <tr key={user.id}>
                <th scope="row">
                  {user.name || user.email}
                  {user.name ? <div class="muted small">{user.email}</div> : null}
                  {user.id === selfId ? <div class="muted small">you</div> : null}
                </th>
                <td>
                  <select
                    aria-label={`Role of ${user.name || user.email}`}
                    value={user.role}
                    onChange={async (event) => {
                      const role = event.currentTarget.value as Role;
                      setSaved(null);
                      const reply = await setRole({ userId: user.id, role });
                      if (!reply.error) setSaved(`${user.name || user.email} is now ${titleCase(role).toLowerCase()}.`);
                    }}
                  >
                    {ROLES.map(([role]) => (
                      <option key={role} value={role}>
                        {titleCase(role)}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{formatDateTime(user.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <ul class="muted small">
        {ROLES.map(([role, text]) => (
          <li key={role}>{text}</li>
        ))}
      </ul>
    </section>
  );
}

function AddUser() {
  const empty = { email: "", name: "", password: "", role: "MEMBER" as Role };
  const [fields, setFields] = useState(empty);
  const [result, add] = useMutation(AddUserMutation);
  const [added, setAdded] = useState<string | null>(null);
  const set = (key: keyof typeof fields) => (event: Event) =>
    setFields({ ...fields, [key]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value });

  async function submit(event: Event) {
    event.preventDefault();
    setAdded(null);
    const reply = await add(
      { email: fields.email.trim(), name: fields.name.trim() || null, password: fields.password, role: fields.role },
      { additionalTypenames: ["User"] },
    );
    if (reply.data) {
      setAdded(`${reply.data.addUser.email} can now sign in.`);
      setFields(empty);
    }
  }

  return (
    <section aria-labelledby="add-user-heading" class="card">
      <h2 id="add-user-heading">Add a user</h2>
      <form class="grid-form" onSubmit={submit}>
        <label>
          E-mail
          <input type="email" required autocomplete="off" value={fields.email} onInput={set("email")} />
        </label>
        <label>
          Name
          <input autocomplete="off" value={fields.name} onInput={set("name")} />
        </label>
        <label>
          Initial password
          <input type="password" required autocomplete="new-password" value={fields.password} onInput={set("password")} />
        </label>
        <label>
          Role
          <select value={fields.role} onChange={set("role")}>
            {ROLES.map(([role]) => (
              <option key={role} value={role}>
                {titleCase(role)}
              </option>
            ))}
          </select>
        </label>
        <div class="form-end">
          <button type="submit" disabled={result.fetching}>
            Add user
          </button>
        </div>
      </form>
      <ErrorMessage error={result.error} />
      {added ? (
        <p class="notice" role="status">
          {added}
        </p>
      ) : null}
    </section>
  );
}

function Routing() {
  const [{ data, error }] = useQuery({ query: RoutingPolicyQuery });
  const [result, save] = useMutation(SetRoutingPolicyMutation);
  const policy = data?.routingPolicy;
  const [saved, setSaved] = useState(false);

  async function submit(values: { costPriority: CostPriority; monthlyBudgetUsd: number }) {
    setSaved(false);
    const reply = await save(values);
    setSaved(!reply.error);
  }

  async function reset() {
    setSaved(false);
    const reply = await save({ clearCostPriority: true, clearMonthlyBudget: true });
    setSaved(!reply.error);
  }

  return (
    <section aria-labelledby="routing-heading" class="card">
      <h2 id="routing-heading">Model routing and budget</h2>
      <ErrorMessage error={error ?? result.error} />
      {policy ? (
        <>
          <p>
            This month: <strong>{formatUsd(policy.spentThisMonthUsd)}</strong> spent.
            {policy.organizationSetPriority || policy.organizationSetBudget ? "" : " The deployment's defaults apply."}
          </p>
          {/* The form starts from the loaded policy and is made again when the saved policy changes (a reset to
              the defaults), so what someone types is never overwritten by a policy that arrives later. */}
          <RoutingForm
            key={`${policy.costPriority}:${policy.monthlyBudgetUsd}`}
            costPriority={policy.costPriority}
            monthlyBudgetUsd={policy.monthlyBudgetUsd}
            busy={result.fetching}
            onSave={submit}
            onReset={reset}
          />
        </>
      ) : error ? null : (
        <p aria-busy="true">Loading the policy…</p>
      )}
      {saved ? (
        <p class="notice" role="status">
          Saved. New analyses follow this policy.
        </p>
      ) : null}
    </section>
  );
}

function RoutingForm(props: {
  costPriority: CostPriority;
  monthlyBudgetUsd: number;
  busy: boolean;
  onSave: (values: { costPriority: CostPriority; monthlyBudgetUsd: number }) => Promise<void>;
  onReset: () => Promise<void>;
}) {
  const [priority, setPriority] = useState<CostPriority>(props.costPriority);
  const [budget, setBudget] = useState(String(props.monthlyBudgetUsd));

  function submit(event: Event) {
    event.preventDefault();
    void props.onSave({ costPriority: priority, monthlyBudgetUsd: Number.parseFloat(budget) });
  }

  return (
    <form class="grid-form" onSubmit={submit}>
      <label>
        What to optimise for
        <select value={priority} onChange={(e) => setPriority(e.currentTarget.value as CostPriority)}>
          {PRIORITIES.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Monthly budget (US dollars)
        <input type="number" min={0} step="0.01" required value={budget} onInput={(e) => setBudget(e.currentTarget.value)} />
      </label>
      <div class="form-end">
        <button type="submit" disabled={props.busy}>
          Save
        </button>
        <button type="button" class="secondary" disabled={props.busy} onClick={() => void props.onReset()}>
          Use the deployment's defaults
        </button>
      </div>
    </form>
  );
}
