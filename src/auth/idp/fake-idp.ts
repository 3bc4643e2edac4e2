import express, { type RequestHandler, type Router } from 'express';
import type { KeyValueStore } from '../../store/kv.js';
import { noStoreAndMethodAllowed, sendOAuthError } from '../server/oauth-errors.js';
import { readParam } from '../server/params.js';
import type { UpstreamIdentityProvider } from '../actions/upstream-callback.js';
import { sendIdpPage } from './idp-page.js';
import { UpstreamCodeModel } from './upstream-code.js';

/** Printable ASCII, bounded: the IdP treats state as opaque, but never stores or echoes anything else. */
const STATE = /^[\x20-\x7E]{1,512}$/;

/**
 * The fake upstream identity provider. GET /fakeupstreamauth/authorize?state=…
 * shows its page (the user picks a user id) and mints a code bound to that
 * state; the page's form then calls our callback with state, code and userId.
 * It stands for a real IdP such as an enterprise SSO: self-asserted identities,
 * for demos and tests only.
 */
export class FakeUpstreamIdp implements UpstreamIdentityProvider {
  private readonly codes: UpstreamCodeModel;

  constructor(
    kv: KeyValueStore,
    private readonly options: {
      secure: boolean;
      limiter: RequestHandler;
      /** CSP form-action sources for the redirect at the end of the flow started with this state. */
      formTargetsFor(state: string): Promise<string[]>;
    },
  ) {
    this.codes = new UpstreamCodeModel(kv);
  }

  redeem(code: string, state: string): Promise<boolean> {
    return this.codes.redeem(code, state);
  }

  /** Mounted at /fakeupstreamauth/authorize. */
  authorizeRoute(): Router {
    const router = express.Router();
    router.use(this.options.limiter);
    router.all('/', async (req, res, next) => {
      if (!noStoreAndMethodAllowed(req, res, 'GET')) return;
      const state = readParam(req.query, 'state');
      if (state.kind !== 'value' || !STATE.test(state.value)) {
        sendOAuthError(res, 400, 'invalid_request', state.kind === 'repeated' ? 'state was sent more than once' : 'state is required (1 to 512 printable characters)');
        return;
      }
      try {
        const code = await this.codes.issue(state.value);
        const formTargets = await this.options.formTargetsFor(state.value);
        sendIdpPage(res, { state: state.value, code, formTargets, secure: this.options.secure });
      } catch (error) {
        next(error);
      }
    });
    return router;
  }
}
