"""The operations the client sends; the CLI tests run each against the real gateway, so a schema change that
breaks one fails there."""

from __future__ import annotations

USER_FIELDS = "id email name role organization { id name }"
AUTH_FIELDS = f"accessToken refreshToken expiresIn user {{ {USER_FIELDS} }}"
DOCUMENT_FIELDS = (
    "id title fileName contentType sizeBytes sha256 status progress error pageCount createdAt updatedAt "
    "uploadedBy { name email }"
)
HIT_FIELDS = "snippet score chunkIndex page startOffset endOffset semanticRank keywordRank document { id title }"
LINE_FIELDS = "key calls inputTokens outputTokens costUsd"

LOGIN = f"""mutation Login($email: String!, $password: String!) {{
  login(email: $email, password: $password) {{ {AUTH_FIELDS} }}
}}"""

REGISTER = f"""mutation Register($organizationName: String!, $email: String!, $password: String!, $name: String) {{
  register(organizationName: $organizationName, email: $email, password: $password, name: $name) {{ {AUTH_FIELDS} }}
}}"""

REFRESH = f"""mutation RefreshToken($refreshToken: String!) {{
  refreshToken(refreshToken: $refreshToken) {{ {AUTH_FIELDS} }}
}}"""

LOGOUT = "mutation Logout($refreshToken: String!) { logout(refreshToken: $refreshToken) }"

ME = f"query Me {{ me {{ {USER_FIELDS} }} }}"

DOCUMENTS = f"""query Documents($first: Int!, $after: String, $status: DocumentStatus) {{
  documents(first: $first, after: $after, status: $status) {{
    totalCount pageInfo {{ endCursor hasNextPage }} nodes {{ {DOCUMENT_FIELDS} }}
  }}
}}"""

DOCUMENT = f"""query Document($id: ID!, $length: SummaryLength!) {{
  document(id: $id) {{
    {DOCUMENT_FIELDS}
    analysis {{
      summary(length: $length)
      actionItems {{ id title owner dueDate sourceQuote page quoteTime }}
      risks {{ id description severity mitigation sourceQuote page quoteTime }}
      decisions {{ id text madeBy sourceQuote page quoteTime }}
      costUsd
      modelCalls {{ task provider model inputTokens outputTokens costUsd latencyMs cached fallbackFrom }}
    }}
  }}
}}"""

UPLOAD = f"""mutation UploadDocument($file: Upload!, $title: String) {{
  uploadDocument(file: $file, title: $title) {{ {DOCUMENT_FIELDS} }}
}}"""

DELETE = "mutation DeleteDocument($id: ID!) { deleteDocument(id: $id) }"

SEARCH = f"""query Search($query: String!, $mode: SearchMode, $limit: Int) {{
  search(query: $query, mode: $mode, limit: $limit) {{ {HIT_FIELDS} }}
}}"""

ASK = f"""query Ask($question: String!) {{
  ask(question: $question) {{
    answer
    citations {{ {HIT_FIELDS} }}
    modelCall {{ task provider model inputTokens outputTokens costUsd latencyMs cached fallbackFrom }}
  }}
}}"""

USAGE = f"""query Usage($since: DateTime, $until: DateTime) {{
  usage(since: $since, until: $until) {{
    documentsProcessed pagesProcessed totalCostUsd
    byDay {{ {LINE_FIELDS} }} byModel {{ {LINE_FIELDS} }} byTask {{ {LINE_FIELDS} }}
  }}
  routingPolicy {{ costPriority monthlyBudgetUsd spentThisMonthUsd }}
}}"""

DOCUMENT_EVENTS = """subscription DocumentEvents($documentId: ID) {
  documentEvents(documentId: $documentId) { documentId status progress message at }
}"""
