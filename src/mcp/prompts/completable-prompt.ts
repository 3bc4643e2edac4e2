import { PROMPT_ICONS } from '../icons.js';
import { requiredArgument, type PromptDefinition } from './types.js';

/**
 * Completions with context: the completions of `name` depend on the
 * `department` the client already chose (completion/complete's
 * `context.arguments`).
 */

export const COMPLETABLE_PROMPT_NAME = 'completable-prompt';

export const STAFF_BY_DEPARTMENT: Readonly<Record<string, readonly string[]>> = Object.freeze({
  Engineering: Object.freeze(['Ada', 'Alan', 'Grace', 'Linus']),
  Marketing: Object.freeze(['Amelia', 'David', 'Frida']),
  Sales: Object.freeze(['Alice', 'Bob', 'Carol']),
  Support: Object.freeze(['Dana', 'Eve', 'Frank']),
});

export const DEPARTMENTS: readonly string[] = Object.freeze(Object.keys(STAFF_BY_DEPARTMENT));

/** Everybody, for a client that completes `name` before choosing a department. */
export const ALL_STAFF: readonly string[] = Object.freeze([...new Set(Object.values(STAFF_BY_DEPARTMENT).flat())].sort());

/** Names to suggest for `name`, given the arguments the client already resolved. */
export function staffFor(context: Readonly<Record<string, string>> | undefined): readonly string[] {
  const department = context?.department;
  if (department === undefined) return ALL_STAFF;
  const match = DEPARTMENTS.find((candidate) => candidate.toLowerCase() === department.toLowerCase());
  return match ? STAFF_BY_DEPARTMENT[match]! : [];
}

export const completablePrompt: PromptDefinition = {
  prompt: {
    name: COMPLETABLE_PROMPT_NAME,
    title: 'Completable Prompt',
    description: 'Welcomes a new colleague; completions for name depend on the department chosen first',
    icons: PROMPT_ICONS,
    arguments: [
      { name: 'department', description: `Department (${DEPARTMENTS.join(', ')})`, required: true },
      { name: 'name', description: 'Colleague to welcome (completions depend on the department)', required: true },
    ],
  },
  get(args) {
    const department = requiredArgument(args, 'department');
    const name = requiredArgument(args, 'name');
    return {
      messages: [
        {
          role: 'user',
          content: { type: 'text', text: `Please write a short welcome note for ${name}, who has just joined ${department}.` },
        },
      ],
    };
  },
};
