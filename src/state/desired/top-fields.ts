/** The keys state.yaml may have at its top. */
export const TOP_FIELDS = ['programs', 'notify'] as const;
