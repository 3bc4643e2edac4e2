import { z } from 'zod';
import { defineTool, READ_ONLY } from './types.js';

/**
 * Structured content: a result with `structuredContent` that matches the
 * tool's declared `outputSchema`, plus the same data as JSON text for clients
 * that only read `content`.
 */

const LOCATIONS = ['New York', 'Chicago', 'Los Angeles'] as const;
type Location = (typeof LOCATIONS)[number];

const WEATHER_OUTPUT = z.object({
  location: z.enum(LOCATIONS).describe('The city the report is for'),
  temperature: z.number().describe('Temperature in degrees Celsius'),
  conditions: z.string().describe('Weather conditions'),
  humidity: z.number().min(0).max(100).describe('Relative humidity in percent'),
});

type Weather = z.output<typeof WEATHER_OUTPUT>;

/** Simulated, fixed reports: the tool is a demonstration, it fetches nothing. */
const REPORTS: Readonly<Record<Location, Weather>> = {
  'New York': { location: 'New York', temperature: 22.5, conditions: 'Partly cloudy', humidity: 65 },
  Chicago: { location: 'Chicago', temperature: 18, conditions: 'Windy', humidity: 55 },
  'Los Angeles': { location: 'Los Angeles', temperature: 28, conditions: 'Sunny', humidity: 40 },
};

export const getStructuredContentTool = defineTool({
  name: 'get-structured-content',
  description:
    'Returns a (simulated) weather report as structuredContent validated by the outputSchema, and the same data as JSON text',
  annotations: { title: 'Get Structured Content', ...READ_ONLY },
  args: z.object({
    location: z.enum(LOCATIONS).describe('The city to report on'),
  }),
  output: WEATHER_OUTPUT,
  run: ({ location }) => {
    const report = REPORTS[location];
    return { content: [{ type: 'text', text: JSON.stringify(report) }], structuredContent: { ...report } };
  },
});
