// Every operation the console sends. Their types are generated from services/gateway/schema.graphql
// (`npm run codegen`): an operation the schema no longer answers fails the build.

import { graphql } from "./gql";

export const LoginMutation = graphql(`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      accessToken
      refreshToken
      expiresIn
      user { id email name role organization { id name } }
    }
  }
`);

export const RegisterMutation = graphql(`
  mutation Register($organizationName: String!, $email: String!, $password: String!, $name: String) {
    register(organizationName: $organizationName, email: $email, password: $password, name: $name) {
      accessToken
      refreshToken
      expiresIn
      user { id email name role organization { id name } }
    }
  }
`);

export const MeQuery = graphql(`
  query Me {
    me { id email name role organization { id name } }
  }
`);

export const DocumentsQuery = graphql(`
  query Documents($first: Int!, $after: String, $status: DocumentStatus) {
    documents(first: $first, after: $after, status: $status) {
      totalCount
      pageInfo { endCursor hasNextPage }
      nodes {
        id
        title
        fileName
        sizeBytes
        status
        progress
        error
        pageCount
        createdAt
        updatedAt
        uploadedBy { id name email }
        replaces { id title }
      }
    }
  }
`);

export const DocumentEventsSubscription = graphql(`
  subscription DocumentEvents($documentId: ID) {
    documentEvents(documentId: $documentId) { documentId status progress message at }
  }
`);

export const DeleteDocumentMutation = graphql(`
  mutation DeleteDocument($id: ID!) {
    deleteDocument(id: $id)
  }
`);

export const ReprocessDocumentMutation = graphql(`
  mutation ReprocessDocument($id: ID!) {
    reprocessDocument(id: $id) { id status progress error }
  }
`);

export const DocumentQuery = graphql(`
  query Document($id: ID!) {
    document(id: $id) {
      id
      title
      fileName
      contentType
      sizeBytes
      status
      progress
      error
      pageCount
      createdAt
      updatedAt
      uploadedBy { id name email }
      replaces { id title }
      analysis {
        short: summary(length: SHORT)
        medium: summary(length: MEDIUM)
        detailed: summary(length: DETAILED)
        actionItems { id title owner dueDate sourceQuote page quoteTime }
        risks { id description severity mitigation sourceQuote page quoteTime }
        decisions { id text madeBy sourceQuote page quoteTime }
        costUsd
        modelCalls { task provider model inputTokens outputTokens costUsd latencyMs cached fallbackFrom }
      }
    }
  }
`);

export const DocumentTextQuery = graphql(`
  query DocumentText($id: ID!, $maxChars: Int) {
    document(id: $id) { id text(maxChars: $maxChars) }
  }
`);

export const DownloadUrlQuery = graphql(`
  query DownloadUrl($id: ID!) {
    document(id: $id) { id downloadUrl }
  }
`);

export const SearchQuery = graphql(`
  query Search($query: String!, $mode: SearchMode, $limit: Int) {
    search(query: $query, mode: $mode, limit: $limit) {
      snippet
      score
      chunkIndex
      page
      semanticRank
      keywordRank
      startOffset
      endOffset
      document { id title fileName }
    }
  }
`);

export const AskQuery = graphql(`
  query Ask($question: String!) {
    ask(question: $question) {
      answer
      citations {
        snippet
        chunkIndex
        page
        startOffset
        endOffset
        document { id title fileName }
      }
      modelCall { provider model costUsd latencyMs cached }
    }
  }
`);

export const UsageQuery = graphql(`
  query Usage($since: DateTime) {
    usage(since: $since) {
      documentsProcessed
      pagesProcessed
      totalCostUsd
      byDay { key calls inputTokens outputTokens costUsd }
      byModel { key calls inputTokens outputTokens costUsd }
      byTask { key calls inputTokens outputTokens costUsd }
    }
    routingPolicy { costPriority monthlyBudgetUsd spentThisMonthUsd organizationSetBudget }
  }
`);

export const UsersQuery = graphql(`
  query Users {
    users { id email name role createdAt }
  }
`);

export const AddUserMutation = graphql(`
  mutation AddUser($email: String!, $password: String!, $role: Role!, $name: String) {
    addUser(email: $email, password: $password, role: $role, name: $name) { id email name role createdAt }
  }
`);

export const SetUserRoleMutation = graphql(`
  mutation SetUserRole($userId: ID!, $role: Role!) {
    setUserRole(userId: $userId, role: $role) { id role }
  }
`);

export const RoutingPolicyQuery = graphql(`
  query RoutingPolicy {
    routingPolicy {
      costPriority
      monthlyBudgetUsd
      spentThisMonthUsd
      organizationSetPriority
      organizationSetBudget
    }
  }
`);

export const SetRoutingPolicyMutation = graphql(`
  mutation SetRoutingPolicy(
    $costPriority: CostPriority
    $monthlyBudgetUsd: Float
    $clearCostPriority: Boolean! = false
    $clearMonthlyBudget: Boolean! = false
  ) {
    setRoutingPolicy(
      costPriority: $costPriority
      monthlyBudgetUsd: $monthlyBudgetUsd
      clearCostPriority: $clearCostPriority
      clearMonthlyBudget: $clearMonthlyBudget
    ) {
      costPriority
      monthlyBudgetUsd
      spentThisMonthUsd
      organizationSetPriority
      organizationSetBudget
    }
  }
`);

// The project register (contract v2): action items, risks and decisions across documents.

export const MentionFields = graphql(`
  fragment MentionFields on Mention {
    document { id title }
    sourceQuote
    page
    quoteTime
    at
  }
`);

export const ActionItemFields = graphql(`
  fragment ActionItemFields on TrackedActionItem {
    id
    title
    owner
    dueDate
    status
    overdue
    updatedAt
    mentions { ...MentionFields }
  }
`);

export const RiskFields = graphql(`
  fragment RiskFields on TrackedRisk {
    id
    description
    severity
    status
    mitigation
    updatedAt
    mentions { ...MentionFields }
  }
`);

export const ActionItemsQuery = graphql(`
  query ActionItems($owner: String, $status: [ItemStatus!], $dueBefore: Date, $first: Int!, $after: String) {
    actionItems(owner: $owner, status: $status, dueBefore: $dueBefore, first: $first, after: $after) {
      totalCount
      pageInfo { endCursor hasNextPage }
      nodes { ...ActionItemFields }
    }
  }
`);

export const UpdateActionItemMutation = graphql(`
  mutation UpdateActionItem($id: ID!, $status: ItemStatus, $owner: String, $dueDate: Date) {
    updateActionItem(id: $id, status: $status, owner: $owner, dueDate: $dueDate) { ...ActionItemFields }
  }
`);

export const RiskRegisterQuery = graphql(`
  query RiskRegister($minSeverity: Severity, $status: [RiskStatus!], $first: Int!, $after: String) {
    riskRegister(minSeverity: $minSeverity, status: $status, first: $first, after: $after) {
      totalCount
      pageInfo { endCursor hasNextPage }
      nodes { ...RiskFields }
    }
  }
`);

export const UpdateRiskMutation = graphql(`
  mutation UpdateRisk($id: ID!, $status: RiskStatus, $severity: Severity, $mitigation: String) {
    updateRisk(id: $id, status: $status, severity: $severity, mitigation: $mitigation) { ...RiskFields }
  }
`);

export const DecisionsQuery = graphql(`
  query Decisions($first: Int!, $after: String) {
    decisions(first: $first, after: $after) {
      totalCount
      pageInfo { endCursor hasNextPage }
      nodes { id text madeBy mentions { ...MentionFields } }
    }
  }
`);

export const DocumentChangesQuery = graphql(`
  query DocumentChanges($id: ID!) {
    documentChanges(documentId: $id) {
      previous { id title createdAt }
      actionItemsAdded { id title owner dueDate status }
      actionItemsClosed { id title owner dueDate status }
      risksAdded { id description severity status }
      risksRetired { id description severity status }
      risksEscalated { id description severity status }
      decisionsAdded { id text madeBy }
    }
  }
`);

export const AlertsSubscription = graphql(`
  subscription Alerts {
    alerts {
      kind
      message
      at
      actionItem { id title }
      risk { id description severity }
      document { id title }
    }
  }
`);
