/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type EvaluationStatus =
  /** splněn / naplněn */
  | 'FULFILLED'
  /** naplňován / je naplňován průběžně */
  | 'IN_PROGRESS'
  /** nesplněn */
  | 'NOT_FULFILLED'
  /** částečně splněn */
  | 'PARTIALLY_FULFILLED'
  /** the source gives no status */
  | 'UNKNOWN';

export type EvaluationByRegionQueryVariables = Exact<{
  regions?: Array<string> | string | null | undefined;
}>;


export type EvaluationByRegionQuery = { evaluationSummary: Array<{ status: EvaluationStatus | null, count: number, region: { code: string, name: string } | null }> };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const EvaluationByRegionDocument = new TypedDocumentString(`
    query EvaluationByRegion($regions: [String!]) {
  evaluationSummary(filter: {regions: $regions}, groupBy: [REGION, STATUS]) {
    region {
      code
      name
    }
    status
    count
  }
}
    `) as unknown as TypedDocumentString<EvaluationByRegionQuery, EvaluationByRegionQueryVariables>;