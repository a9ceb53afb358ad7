// The few declarations of react and @auth0/auth0-react that react.tsx uses, so that
// the example type-checks (tsc --strict) without installing React; the real packages
// declare the same signatures.
declare module 'react' {
  export interface RefObject<T> { readonly current: T | null }
  export function useRef<T>(initial: T | null): RefObject<T>;
  export function useEffect(effect: () => void | (() => void), deps?: readonly unknown[]): void;
}
declare module 'react/jsx-runtime' {
  export const jsx: unknown, jsxs: unknown, Fragment: unknown;
}
declare module '@auth0/auth0-react' {
  export function useAuth0(): { getAccessTokenSilently: () => Promise<string> };
}
declare namespace JSX {
  type Element = unknown;
  interface IntrinsicElements {
    'doorman-invitations': { ref?: import('react').RefObject<import('../src/invitations.js').DoormanInvitations>; 'api-base'?: string; 'organization-id'?: string };
  }
}
