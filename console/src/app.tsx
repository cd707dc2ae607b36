import { Provider as UrqlProvider, useQuery } from "@urql/preact";
import { ErrorBoundary, LocationProvider, Route, Router, lazy, useLocation } from "preact-iso";
import { useEffect, useMemo } from "preact/hooks";
import { Alerts } from "./components/Alerts";
import { Page } from "./components/Page";
import { createConsoleClient } from "./lib/client";
import { type Session, signOut, updateUser } from "./lib/session";
import { useSession } from "./lib/useSession";
import { MeQuery } from "./operations";
import { AdminPage } from "./pages/Admin";
import { AskPage } from "./pages/Ask";
import { DocumentPage } from "./pages/DocumentPage";
import { DocumentsPage } from "./pages/Documents";
import { NotFoundPage } from "./pages/NotFound";
import { SearchPage } from "./pages/Search";
import { SignInPage, SignUpPage } from "./pages/SignIn";
import { UsagePage } from "./pages/Usage";

const PUBLIC_PATHS = new Set(["/sign-in", "/sign-up"]);

// The register's pages come in their own chunk, fetched when one is first opened. If it cannot be fetched (offline,
// or a newer build replaced it), the page says so instead of staying blank.
const loadRegister = () =>
  import("./pages/register").catch(() => ({ ActionItemsPage: ChunkFailed, RisksPage: ChunkFailed, DecisionsPage: ChunkFailed }));

function ChunkFailed() {
  return (
    <Page title="This page could not be loaded">
      <p class="error" role="alert">
        The console could not fetch this page from the server. Check your connection, then reload the page.
      </p>
    </Page>
  );
}
const ActionItemsPage = lazy(() => loadRegister().then((pages) => pages.ActionItemsPage));
const RisksPage = lazy(() => loadRegister().then((pages) => pages.RisksPage));
const DecisionsPage = lazy(() => loadRegister().then((pages) => pages.DecisionsPage));

export function App() {
  return (
    <LocationProvider>
      <Shell />
    </LocationProvider>
  );
}

function Shell() {
  const session = useSession();
  const userId = session?.user.id ?? null;
  // One client per signed-in user: signing out drops the cache and closes the WebSocket.
  const consoleClient = useMemo(() => createConsoleClient(), [userId]);
  useEffect(() => () => consoleClient.dispose(), [consoleClient]);
  const { path, url, route } = useLocation();
  const isPublic = PUBLIC_PATHS.has(path);

  useEffect(() => {
    if (!session && !isPublic) route(`/sign-in?next=${encodeURIComponent(url)}`, true);
    if (session && isPublic) route("/", true);
  }, [session, isPublic, url]);

  return (
    <UrqlProvider value={consoleClient.client}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      {session ? <TopBar session={session} path={path} /> : <PublicBar />}
      <main id="main" tabIndex={-1}>
        {session && !isPublic ? (
          <>
            <KeepUserCurrent />
            <ErrorBoundary>
              <Router>
                <Route path="/" component={DocumentsPage} />
                <Route path="/documents/:id" component={DocumentPage} />
                <Route path="/register" component={ActionItemsPage} />
                <Route path="/register/action-items" component={ActionItemsPage} />
                <Route path="/register/risks" component={RisksPage} />
                <Route path="/register/decisions" component={DecisionsPage} />
                <Route path="/search" component={SearchPage} />
                <Route path="/ask" component={AskPage} />
                <Route path="/usage" component={UsagePage} />
                <Route path="/admin" component={AdminPage} />
                <Route default component={NotFoundPage} />
              </Router>
            </ErrorBoundary>
          </>
        ) : !session && isPublic ? (
          <Router>
            <Route path="/sign-in" component={SignInPage} />
            <Route path="/sign-up" component={SignUpPage} />
          </Router>
        ) : null}
      </main>
    </UrqlProvider>
  );
}

/** The role and name the server holds now (an administrator may have changed them since sign-in). */
function KeepUserCurrent() {
  const [{ data }] = useQuery({ query: MeQuery, requestPolicy: "network-only" });
  useEffect(() => {
    if (data?.me) {
      updateUser({
        id: data.me.id,
        email: data.me.email,
        name: data.me.name ?? null,
        role: data.me.role,
        organizationName: data.me.organization.name,
      });
    }
  }, [data]);
  return null;
}

function PublicBar() {
  return (
    <header class="topbar">
      <a class="brand" href="/sign-in">
        PM Document Intelligence
      </a>
    </header>
  );
}

function TopBar({ session, path }: { session: Session; path: string }) {
  const admin = session.user.role === "ADMIN";
  const links: [string, string][] = [
    ["/", "Documents"],
    ["/register/action-items", "Register"],
    ["/search", "Search"],
    ["/ask", "Ask"],
    ...(admin ? ([["/usage", "Usage"], ["/admin", "Admin"]] as [string, string][]) : []),
  ];
  const current = (href: string) => {
    if (href === "/") return path === "/" || path.startsWith("/documents");
    if (href.startsWith("/register")) return path.startsWith("/register");
    return path.startsWith(href);
  };
  return (
    <header class="topbar">
      <a class="brand" href="/">
        PM Document Intelligence
      </a>
      <nav aria-label="Main">
        <ul>
          {links.map(([href, label]) => (
            <li key={href}>
              <a href={href} aria-current={current(href) ? "page" : undefined}>
                {label}
              </a>
            </li>
          ))}
          <li>
            <a href="/graphql" target="_blank" rel="noopener">
              GraphQL explorer<span class="visually-hidden"> (opens in a new tab)</span>
            </a>
          </li>
        </ul>
      </nav>
      <div class="account">
        <Alerts admin={admin} />
        <span class="who">
          <span class="name">{session.user.name || session.user.email}</span>
          <span class="role">
            {session.user.role.toLowerCase()} · {session.user.organizationName}
          </span>
        </span>
        <button type="button" class="secondary" onClick={() => void signOut()}>
          Sign out
        </button>
      </div>
    </header>
  );
}
