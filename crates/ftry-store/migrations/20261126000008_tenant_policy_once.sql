-- Row-level security evaluates a policy's expression for every row it
-- filters. `ftry_current_tenant()` reads a setting and casts it to uuid, so a
-- scan of a few hundred rows paid for that a few hundred times. As a scalar
-- subquery the tenant is computed once per statement (an InitPlan) and is
-- still usable as an index condition; what the policies allow is unchanged.
DO $$
DECLARE p record;
BEGIN
    FOR p IN SELECT c.relname AS table_name
               FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
              WHERE pol.polname = 'tenant_isolation'
                AND pg_get_expr(pol.polqual, pol.polrelid) = '(tenant_id = ftry_current_tenant())'
    LOOP
        EXECUTE format('ALTER POLICY tenant_isolation ON %I USING (tenant_id = (SELECT ftry_current_tenant()))
                        WITH CHECK (tenant_id = (SELECT ftry_current_tenant()))', p.table_name);
    END LOOP;
END $$;
