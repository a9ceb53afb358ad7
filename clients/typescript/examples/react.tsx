import { useEffect, useRef } from 'react';
import { useAuth0 } from '@auth0/auth0-react';
import type { DoormanInvitations } from '../src/invitations.js'; // with the component's script loaded by the page

export function Invitations() {
  const { getAccessTokenSilently } = useAuth0();
  const ref = useRef<DoormanInvitations>(null);
  useEffect(() => { if (ref.current) ref.current.getAccessToken = () => getAccessTokenSilently(); }, [getAccessTokenSilently]);
  return <doorman-invitations ref={ref} api-base="https://doorman.example.com" />;
}
