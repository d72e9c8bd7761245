/**
 * The "web app" the example pipeline deploys: a function URL that answers with a small status page. The smoke test
 * requests it after each deployment.
 */
export const handler = async (): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> => ({
  statusCode: 200,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: `ok ${process.env.STAGE_NAME ?? ''}`.trim(),
});
