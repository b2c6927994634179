import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  // The service's schema file (the test points it at the repository's copy).
  schema: process.env.KPSS_SCHEMA ?? '../../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**'],
  generates: {
    './src/gql/': {
      preset: 'client',
      // Documents as typed strings: no GraphQL library at run time, only fetch.
      config: { documentMode: 'string', enumsAsTypes: true, useTypeImports: true, emitLegacyCommonJSImports: false },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
