import { DoormanClient, DoormanError } from '../src/client.js';

declare function getTokenSilently(): Promise<string>; // auth0-spa-js, or auth0-react's getAccessTokenSilently

const doorman = new DoormanClient({ baseUrl: 'https://doorman.example.com', getAccessToken: () => getTokenSilently() });
try {
  const inv = await doorman.createInvitation({ email: 'ada@example.com', roles: ['rol_member'] }); // send_email defaults to true
  console.log(inv.id, inv.status, inv.delivery.status);
} catch (err) {
  if (err instanceof DoormanError && err.code === 'conflict') console.log('already invited:', err.problem.existing_id);
  else throw err;
}
for await (const inv of doorman.invitations({ status: 'pending', limit: 100 })) console.log(inv.email); // every page
const preview = await doorman.previewBatch([{ email: 'bo@example.com' }, { email: 'nope' }]); // dry run: nothing changes
console.log(preview.totals);
