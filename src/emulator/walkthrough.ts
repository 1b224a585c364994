// The copy-paste curl session the `aquasync emulator` banner prints: token, submit, poll, download. Plain curl and
// sed (no jq), one command per line, so it runs as pasted into any POSIX shell.

function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export function walkthrough(url: string, clientId: string, clientSecret: string, partner: string): string[] {
  const job = JSON.stringify({
    format: 'csv',
    version: '1.1',
    name: 'walkthrough',
    partner,
    project: 'walkthrough',
    queries: [{ name: 'accounts', query: 'select Id, Name, UpdatedDate from Account', type: 'zoqlexport' }],
  });
  return [
    'Try it with curl (copy-paste). The first job of a partner/project is a full load, later ones are incremental;',
    'a full load lists its files under "segments" (this takes the first), an incremental one under "fileId".',
    `  BASE=${url}`,
    `  TOKEN=$(curl -s -X POST "$BASE/oauth/token" -d client_id=${quote(clientId)} -d client_secret=${quote(clientSecret)} -d grant_type=client_credentials | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p')`,
    `  JOB=$(curl -s -X POST "$BASE/v1/batch-query/" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d ${quote(job)} | sed -n 's/^{"id":"\\([^"]*\\)".*/\\1/p')`,
    `  until curl -s "$BASE/v1/batch-query/jobs/$JOB" -H "Authorization: Bearer $TOKEN" | grep -q '"status":"completed"'; do sleep 1; done`,
    `  FILE=$(curl -s "$BASE/v1/batch-query/jobs/$JOB" -H "Authorization: Bearer $TOKEN" | sed -n -e 's/.*"fileId":"\\([^"]*\\)".*/\\1/p' -e 's/.*"segments":\\["\\([^"]*\\)".*/\\1/p')`,
    `  curl -s "$BASE/v1/files/$FILE" -H "Authorization: Bearer $TOKEN"`,
    'Legacy auth works too: -H "apiAccessKeyId: <client id>" -H "apiSecretAccessKey: <client secret>" instead of the token.',
    'Change data, move the clock, inject faults: JSON requests to $BASE/__admin/... (README: "Test your own AQuA client against the emulator").',
  ];
}
